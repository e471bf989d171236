import Foundation
import GRDB

/// Group commit for ``SQLiteTokenStore``'s writes: every write waiting
/// while a transaction commits goes into the next one, so N concurrent
/// requests cost one `fsync` instead of N, and each caller is answered only
/// once the transaction holding its write is durable (`synchronous = FULL`).
///
/// Each write runs in its own savepoint: one that throws (a taken client id)
/// is rolled back alone and its caller gets the error, the others commit.
/// If the commit itself fails, every caller of the batch gets that error
/// (nothing of the batch was written). Batches run one at a time on a
/// dispatch queue of their own, never on Swift's cooperative pool; a
/// batch holds at most ``maximumBatch`` writes.
final class SQLiteGroupCommit: @unchecked Sendable { // `pending`, `running` and `committed` are only touched with `lock` held
    /// The most writes one transaction takes.
    static let maximumBatch = 512

    private struct Pending {
        let work: (Database) throws -> Void
        let finish: (Error?) -> Void
    }

    /// Holds one write's result between its savepoint and its caller.
    private final class Slot<T>: @unchecked Sendable { // written inside the batch, read after the commit, in that order
        var value: T?
    }

    private let database: DatabaseQueue
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var running = false
    private var committed = 0

    /// How many batches have been committed (or rolled back) so far.
    var transactions: Int { lock.withLock { committed } }
    private let worker = DispatchQueue(label: "modelsec.token-store.group-commit")

    init(database: DatabaseQueue) {
        self.database = database
    }

    /// Runs `body` in the next batch's transaction; returns its value once that transaction is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let slot = Slot<T>()
            let item = Pending(work: { db in slot.value = try body(db) }, finish: { error in
                if let error { continuation.resume(throwing: error) } else if let value = slot.value {
                    continuation.resume(returning: value)
                } else {
                    continuation.resume(throwing: CancellationError())
                }
            })
            let start: Bool = lock.withLock {
                pending.append(item)
                guard !running else { return false }
                running = true
                return true
            }
            if start { worker.async { self.drain() } }
        }
    }

    /// Commits batches until no write waits.
    private func drain() {
        while true {
            let batch: [Pending] = lock.withLock {
                let taken = Array(pending.prefix(Self.maximumBatch))
                pending.removeFirst(taken.count)
                if taken.isEmpty { running = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            var outcomes = [Error?](repeating: nil, count: batch.count)
            do {
                try database.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for (index, item) in batch.enumerated() {
                            do {
                                try db.inSavepoint {
                                    try item.work(db)
                                    return .commit
                                }
                            } catch {
                                outcomes[index] = error
                            }
                        }
                        return .commit
                    }
                }
            } catch {
                for index in outcomes.indices where outcomes[index] == nil { outcomes[index] = error }
            }
            lock.withLock { committed += 1 }
            for (item, outcome) in zip(batch, outcomes) { item.finish(outcome) }
        }
    }
}
