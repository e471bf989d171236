import Foundation
import Synchronization

/// One update from a long-running operation: what it is doing, how far it
/// has got and how far it will go. Delivered to a ``ProgressHandler``.
public struct ProgressEvent: Sendable, Equatable {
    /// Identifies the operation: every event of one ``ProgressReporter`` has
    /// the same id, distinct from other reporters' in this process.
    public let operation: Int
    /// What is being done ("hashing", "encrypting", …).
    public let label: String
    /// Bytes processed so far.
    public let bytes: Int64
    /// Items (files) finished so far.
    public let items: Int
    /// The bytes the operation will process, when known.
    public let totalBytes: Int64?
    /// The items the operation will finish, when known.
    public let totalItems: Int?
    /// Seconds since the operation started.
    public let elapsed: Double
    /// True for the last event of the operation.
    public let isFinal: Bool

    /// An event; see the properties.
    public init(operation: Int, label: String, bytes: Int64, items: Int, totalBytes: Int64?, totalItems: Int?,
                elapsed: Double, isFinal: Bool) {
        self.operation = operation
        self.label = label
        self.bytes = bytes
        self.items = items
        self.totalBytes = totalBytes
        self.totalItems = totalItems
        self.elapsed = elapsed
        self.isFinal = isFinal
    }
}

/// Receives progress events. Called from whichever thread did the work
/// (often several at once), so it must be thread-safe and quick; it decides
/// itself how often to show anything.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void

/// Where long operations send progress when their caller did not pass a
/// handler. The library itself never prints: progress goes to the handler
/// the caller passes, else to the one bound here for the duration of a call
/// (`ProgressReporting.$handler.withValue(h) { … }`), else nowhere.
public enum ProgressReporting {
    /// The handler bound for the current task or thread, if any.
    @TaskLocal public static var handler: ProgressHandler?

    /// The handler a command-line program installs once for the whole process
    /// (used when none is bound for the task). The `modelsec` CLI sets it
    /// instead of binding ``handler`` around its command: binding a task
    /// local outside any task crashed release builds (Swift 6.3,
    /// `swift_task_localValuePush` from a synchronous `main`).
    public static var processHandler: ProgressHandler? {
        get { processHandlerStorage.withLock { $0 } }
        set { processHandlerStorage.withLock { $0 = newValue } }
    }
    private static let processHandlerStorage = Mutex<ProgressHandler?>(nil)

    /// The handler in effect: the task's, else the process's.
    public static var current: ProgressHandler? { handler ?? processHandler }

    /// A handler that drops every event (to silence an operation even when a
    /// handler is bound around it).
    public static let silent: ProgressHandler = { _ in }
}

/// Counts the progress of one operation and forwards every change to a
/// ``ProgressHandler``. Safe to call from many threads.
public final class ProgressReporter: @unchecked Sendable { // counters are guarded by `lock`
    private static let counter = OperationCounter()
    private let label: String
    private let totalBytes: Int64?
    private let totalItems: Int?
    private let handler: ProgressHandler?
    private let operation: Int
    private let lock = NSLock()
    private var bytes: Int64 = 0
    private var items = 0
    private let start = DispatchTime.now().uptimeNanoseconds

    /// A reporter for work described by `label` ("hashing", "encrypting", …)
    /// that sends its events to `handler`; nil uses the handler bound in
    /// ``ProgressReporting/handler``, and with none bound the reporter is silent.
    public init(label: String, totalBytes: Int64? = nil, totalItems: Int? = nil, handler: ProgressHandler? = nil) {
        self.label = label
        self.totalBytes = totalBytes
        self.totalItems = totalItems
        self.handler = handler ?? ProgressReporting.current
        operation = Self.counter.next()
    }

    /// Records `byteCount` more bytes and `itemCount` more finished items.
    public func advance(bytes byteCount: Int64 = 0, items itemCount: Int = 0) {
        guard let handler else { return }
        lock.lock()
        bytes += byteCount
        items += itemCount
        let (b, i) = (bytes, items)
        lock.unlock()
        handler(event(bytes: b, items: i, isFinal: false))
    }

    /// Sends the final state.
    public func finish() {
        guard let handler else { return }
        lock.lock()
        let (b, i) = (bytes, items)
        lock.unlock()
        handler(event(bytes: b, items: i, isFinal: true))
    }

    private func event(bytes: Int64, items: Int, isFinal: Bool) -> ProgressEvent {
        ProgressEvent(operation: operation, label: label, bytes: bytes, items: items, totalBytes: totalBytes, totalItems: totalItems,
                      elapsed: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, isFinal: isFinal)
    }
}

/// Hands out distinct operation ids.
private final class OperationCounter: @unchecked Sendable { // `value` is guarded by `lock`
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
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
