import Foundation
import GRDB

/// Group commit for ``SQLiteTokenStore``'s writes: every write waiting
/// while a transaction commits goes into the next one, so N concurrent
/// requests cost one `fsync` instead of N, and each caller is answered only
/// once the transaction holding its write is durable (`synchronous = FULL`).
///
/// A write that throws (a taken client id) is rolled back alone and its
/// caller gets the error; the others commit. A batch first runs its writes
/// one after another in the transaction; only if one of them throws is the
/// transaction rolled back and the batch run again with each write in its
/// own savepoint (the common batch, where nothing throws, costs no
/// savepoint statements). If the commit itself fails, every caller of the
/// batch gets that error (nothing of the batch was written). Batches run
/// one at a time on a dispatch queue of their own, never on Swift's
/// cooperative pool; a batch holds at most ``maximumBatch`` writes.
///
/// A write may name a ``Sweep`` (a statement deleting expired rows, with
/// its cutoff): a batch runs each sweep its writes name once, with the
/// latest cutoff among them, before the writes, instead of once per write.
final class SQLiteGroupCommit: @unchecked Sendable { // `pending`, `running` and `committed` are only touched with `lock` held
    /// The most writes one transaction takes.
    static let maximumBatch = 512

    /// A statement deleting expired rows, `DELETE … WHERE … < ?`, bound to
    /// the cutoff: run once per batch with the largest cutoff its writes
    /// name (the rows it deletes are the union of what each write's sweep
    /// would have deleted).
    struct Sweep: Sendable {
        /// The statement; one `?`, the cutoff.
        let sql: String
        /// Rows below this are expired.
        let cutoff: Int64
    }

    private struct Pending {
        let sweep: Sweep?
        let work: (Database) throws -> Void
        let finish: (Error?) -> Void
    }

    /// Holds one write's result between its transaction and its caller.
    private final class Slot<T>: @unchecked Sendable { // written inside the batch, read after the commit, in that order
        var value: T?
    }

    /// A write's own error, told apart from the transaction's.
    private struct WriteFailed: Error {}

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

    /// Runs `body` in the next batch's transaction (after `sweep`, if any);
    /// returns its value once that transaction is committed.
    func write<T: Sendable>(sweep: Sweep? = nil, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let slot = Slot<T>()
            let item = Pending(sweep: sweep, work: { db in slot.value = try body(db) }, finish: { error in
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
            let outcomes = commit(batch)
            lock.withLock { committed += 1 }
            for (item, outcome) in zip(batch, outcomes) { item.finish(outcome) }
        }
    }

    /// Runs one batch in one transaction: each write's error (nil for a
    /// committed write).
    private func commit(_ batch: [Pending]) -> [Error?] {
        // The sweeps the batch names, each once with its latest cutoff.
        var sweeps: [(sql: String, cutoff: Int64)] = []
        for case let sweep? in batch.map(\.sweep) {
            if let index = sweeps.firstIndex(where: { $0.sql == sweep.sql }) {
                sweeps[index].cutoff = max(sweeps[index].cutoff, sweep.cutoff)
            } else {
                sweeps.append((sweep.sql, sweep.cutoff))
            }
        }
        func runSweeps(_ db: Database) throws {
            for sweep in sweeps { try db.cachedStatement(sql: sweep.sql).execute(arguments: [sweep.cutoff]) }
        }
        var outcomes = [Error?](repeating: nil, count: batch.count)
        do {
            // Every write straight into the transaction; the first that
            // throws rolls the whole transaction back (WriteFailed).
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try runSweeps(db)
                    for item in batch {
                        do { try item.work(db) } catch { throw WriteFailed() }
                    }
                    return .commit
                }
            }
            return outcomes
        } catch is WriteFailed {
            // Nothing was written: run the batch again, each write in a
            // savepoint, so that the writes that throw are rolled back alone.
        } catch {
            return [Error?](repeating: error, count: batch.count)
        }
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try runSweeps(db)
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
        return outcomes
    }
}
