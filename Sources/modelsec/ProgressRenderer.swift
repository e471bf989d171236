#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelSec

/// Draws the library's progress events on standard error, as `--progress`
/// (or `MODELSEC_PROGRESS`) asks: `always`, `never`, or `auto` (the
/// default: only when standard error is a terminal). On a terminal one line
/// per operation is redrawn at most ten times a second; elsewhere (a CI log)
/// a plain line is printed every ``plainInterval`` seconds and at the end,
/// with no carriage returns or escape sequences.
final class ProgressRenderer: @unchecked Sendable { // `lastDraw` is guarded by `lock`
    /// Seconds between lines when standard error is not a terminal.
    static let plainInterval: Double = 5
    /// Seconds between redraws on a terminal.
    static let terminalInterval: Double = 0.1

    private let enabled: Bool
    private let terminal: Bool
    private let lock = NSLock()
    /// Per operation, the elapsed time of its last drawn line.
    private var lastDraw: [Int: Double] = [:]

    /// A renderer that shows progress when `MODELSEC_PROGRESS` says so
    /// (`always`/`never`), else when standard error is a terminal.
    init() {
        terminal = isatty(STDERR_FILENO) == 1
        switch ProcessInfo.processInfo.environment["MODELSEC_PROGRESS"] {
        case "always"?: enabled = true
        case "never"?: enabled = false
        default: enabled = terminal
        }
    }

    /// The handler to give the library (nil when progress is off, so the
    /// library does not even count).
    var handler: ProgressHandler? {
        guard enabled else { return nil }
        return { [self] event in self.receive(event) }
    }

    private func receive(_ event: ProgressEvent) {
        lock.lock()
        let last = lastDraw[event.operation] ?? (terminal ? -.infinity : 0)
        let interval = terminal ? Self.terminalInterval : Self.plainInterval
        let draw = event.isFinal || event.elapsed - last > interval
        if event.isFinal {
            lastDraw[event.operation] = nil
        } else if draw {
            lastDraw[event.operation] = event.elapsed
        }
        if draw { FileHandle.standardError.write(Data(line(for: event).utf8)) }
        lock.unlock()
    }

    /// `label: 3/10 files, 1.5 GiB of 4.0 GiB (37%), 120.0 MiB/s, 13 s`.
    private func line(for event: ProgressEvent) -> String {
        let seconds = max(event.elapsed, 1e-9)
        var parts: [String] = []
        if let totalItems = event.totalItems {
            parts.append("\(event.items)/\(totalItems) files")
        } else if event.totalBytes == nil, event.bytes == 0 {
            parts.append("\(event.items) file\(event.items == 1 ? "" : "s")")   // item-only work (scanning): no "0 B"
        }
        if event.bytes > 0 || event.totalBytes != nil {
            var text = ByteCountFormatting.string(event.bytes)
            if let totalBytes = event.totalBytes, totalBytes > 0 {
                text += " of \(ByteCountFormatting.string(totalBytes)) (\(Int(Double(event.bytes) * 100 / Double(totalBytes)))%)"
            }
            parts.append(text)
            parts.append("\(ByteCountFormatting.string(Int64(Double(event.bytes) / seconds)))/s")
        }
        parts.append(String(format: "%.0f s", seconds))
        let body = "\(CLI.terminalSafe(event.label)): " + parts.joined(separator: ", ")
        return terminal ? "\r" + body + (event.isFinal ? "\n" : "\u{1B}[K") : body + "\n"
    }
}
