#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Progress of long work on standard error. Safe to call from many threads.
///
/// Whether it shows: the caller's `enabled`, else the `MODELSEC_PROGRESS`
/// environment variable (`always`, `never` or `auto`; the CLI's `--progress`
/// sets it), else `auto`: only when standard error is a terminal. On a
/// terminal one line is redrawn at most ten times a second; elsewhere (a CI
/// log) a plain line is printed every ``plainInterval`` seconds and at the
/// end, with no carriage returns or escape sequences.
public final class ProgressReporter: @unchecked Sendable {
    /// Seconds between lines when standard error is not a terminal.
    public static let plainInterval: Double = 5
    private let label: String
    private let totalBytes: Int64?
    private let totalItems: Int?
    private let enabled: Bool
    private let terminal: Bool
    private let lock = NSLock()
    private var bytes: Int64 = 0
    private var items = 0
    private var lastDraw: UInt64 = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    /// A reporter for work described by `label` ("hashing", "encrypting", …).
    /// `enabled` nil follows `MODELSEC_PROGRESS`, then whether stderr is a terminal.
    public init(label: String, totalBytes: Int64? = nil, totalItems: Int? = nil, enabled: Bool? = nil) {
        self.label = label
        self.totalBytes = totalBytes
        self.totalItems = totalItems
        terminal = isatty(STDERR_FILENO) == 1
        self.enabled = enabled ?? Self.environmentSetting ?? terminal
    }

    /// `MODELSEC_PROGRESS`: true for `always`, false for `never`, nil for
    /// `auto` or when unset.
    static var environmentSetting: Bool? {
        switch ProcessInfo.processInfo.environment["MODELSEC_PROGRESS"] {
        case "always"?: return true
        case "never"?: return false
        default: return nil
        }
    }

    /// Records `byteCount` more bytes and `itemCount` more finished items.
    public func advance(bytes byteCount: Int64 = 0, items itemCount: Int = 0) {
        guard enabled else { return }
        lock.lock()
        bytes += byteCount
        items += itemCount
        let now = DispatchTime.now().uptimeNanoseconds
        let interval: UInt64 = terminal ? 100_000_000 : UInt64(Self.plainInterval * 1e9)
        let draw = now - max(lastDraw, terminal ? 0 : start) > interval
        if draw { lastDraw = now }
        let (b, i) = (bytes, items)
        lock.unlock()
        if draw { render(bytes: b, items: i, now: now, final: false) }
    }

    /// Draws the final state and ends the line.
    public func finish() {
        guard enabled else { return }
        lock.lock()
        let (b, i) = (bytes, items)
        lock.unlock()
        render(bytes: b, items: i, now: DispatchTime.now().uptimeNanoseconds, final: true)
    }

    private func render(bytes: Int64, items: Int, now: UInt64, final: Bool) {
        let seconds = max(Double(now - start) / 1e9, 1e-9)
        var parts: [String] = []
        if let totalItems {
            parts.append("\(items)/\(totalItems) files")
        } else if totalBytes == nil, bytes == 0 {
            parts.append("\(items) file\(items == 1 ? "" : "s")")   // item-only work (scanning): no "0 B"
        }
        if bytes > 0 || totalBytes != nil {
            var text = ByteCountFormatting.string(bytes)
            if let totalBytes, totalBytes > 0 {
                text += " of \(ByteCountFormatting.string(totalBytes)) (\(Int(Double(bytes) * 100 / Double(totalBytes)))%)"
            }
            parts.append(text)
            parts.append("\(ByteCountFormatting.string(Int64(Double(bytes) / seconds)))/s")
        }
        parts.append(String(format: "%.0f s", seconds))
        let body = "\(label): " + parts.joined(separator: ", ")
        let line = terminal ? "\r" + body + (final ? "\n" : "\u{1B}[K") : body + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Human-readable byte counts (binary units).
public enum ByteCountFormatting {
    /// "1.5 GiB", "512 B".
    public static func string(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
