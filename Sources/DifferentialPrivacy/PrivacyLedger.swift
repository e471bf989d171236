import Foundation

/// A dataset's budget and what has been spent against it.
public struct BudgetStatus: Codable, Sendable, Equatable {
    /// The dataset name.
    public var dataset: String
    /// The total budget (basic composition over all releases).
    public var total: PrivacyCost
    /// The sum of all recorded spends.
    public var spent: PrivacyCost
    /// total - spent (never below zero).
    public var remaining: PrivacyCost
    /// Number of recorded releases.
    public var releases: Int
}

/// One recorded release.
public struct SpendRecord: Codable, Sendable, Equatable {
    /// Sequence number in the ledger.
    public var id: Int64
    /// The dataset charged.
    public var dataset: String
    /// The cost charged (rounded up to the ledger's units).
    public var cost: PrivacyCost
    /// Mechanism name (e.g. "discrete-laplace").
    public var mechanism: String
    /// The release parameters (JSON text chosen by the caller).
    public var parameters: String
    /// When it was recorded (ISO 8601, UTC).
    public var time: String
    /// Hex SHA-256 of the released result's canonical bytes.
    public var resultSHA256: String
}

/// A privacy-budget ledger: per-dataset totals and an append-only record of
/// releases. Budgets compose by basic composition (epsilons and deltas add).
///
/// Implementations must make ``spend(dataset:cost:mechanism:parameters:release:)``
/// atomic across processes: check, release and record happen in one
/// exclusive transaction, so concurrent releases can never overspend.
/// ``SQLitePrivacyLedger`` is the embedded implementation; a shared server
/// database can implement the same protocol.
public protocol PrivacyLedger {
    /// Creates or changes a dataset's total budget.
    func setTotal(dataset: String, budget: PrivacyCost) throws
    /// One dataset's status; throws ``DPError/unknownDataset(_:)`` if it has no budget.
    func status(dataset: String) throws -> BudgetStatus
    /// Every dataset's status, by name.
    func allStatuses() throws -> [BudgetStatus]
    /// The releases recorded for a dataset, oldest first.
    func spends(dataset: String) throws -> [SpendRecord]
    /// Reserves `cost`, runs `release` (which draws the noise and returns
    /// the result and its canonical bytes), records the spend with the
    /// SHA-256 of those bytes, and commits, all in one exclusive
    /// transaction. Throws ``DPError/budgetExceeded(dataset:requested:remaining:)``
    /// without calling `release` when the budget would be exceeded; if
    /// `release` throws, nothing is recorded.
    func spend<T>(dataset: String, cost: PrivacyCost, mechanism: String, parameters: String,
                  release: () throws -> (result: T, canonicalBytes: [UInt8])) throws -> T
}
