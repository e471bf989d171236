import Foundation

/// Results filled in by jobs on other threads (the release scan runs beside
/// the encryption).
final class ResultSlots<Value>: @unchecked Sendable { // `slots` is guarded by `lock`
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    /// Every value, in job order (call after every job succeeded).
    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
