import GRDB

extension DatabaseQueue {
    /// Runs `body` in one `BEGIN IMMEDIATE` transaction (SQLite's write lock
    /// taken at BEGIN, so two writers queue instead of failing at their
    /// first write) and returns its value once committed; rolls back on a
    /// throw. The SQLite ledger and the SQLite release-log store share it.
    package func immediateTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }
}
