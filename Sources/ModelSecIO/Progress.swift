#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Progress of long work on standard error, shown only when standard error is
/// a terminal and at most ten times a second. Safe to call from many threads.
public final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let totalBytes: Int64?
    private let totalItems: Int?
    private let enabled: Bool
    private let lock = NSLock()
    private var bytes: Int64 = 0
    private var items = 0
    private var lastDraw: UInt64 = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    /// A reporter for work described by `label` ("hashing", "encrypting", …).
    /// `enabled` defaults to whether stderr is a terminal.
    public init(label: String, totalBytes: Int64? = nil, totalItems: Int? = nil, enabled: Bool? = nil) {
        self.label = label
        self.totalBytes = totalBytes
        self.totalItems = totalItems
        self.enabled = enabled ?? (isatty(STDERR_FILENO) == 1)
    }

    /// Records `byteCount` more bytes and `itemCount` more finished items.
    public func advance(bytes byteCount: Int64 = 0, items itemCount: Int = 0) {
        guard enabled else { return }
        lock.lock()
        bytes += byteCount
        items += itemCount
        let now = DispatchTime.now().uptimeNanoseconds
        let draw = now - lastDraw > 100_000_000
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
        var line = "\r\(label): "
        if let totalItems { line += "\(items)/\(totalItems) files, " }
        line += ByteCountFormatting.string(bytes)
        if let totalBytes, totalBytes > 0 {
            line += " of \(ByteCountFormatting.string(totalBytes)) (\(Int(Double(bytes) * 100 / Double(totalBytes)))%)"
        }
        line += ", \(ByteCountFormatting.string(Int64(Double(bytes) / seconds)))/s"
        line += final ? "\n" : "\u{1B}[K"
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
