import Foundation
import ModelSecIO
import ModelSecCrypto

/// A dataset's budget and what has been spent against it.
public struct BudgetStatus: Codable, Sendable, Equatable {
    /// The dataset name.
    public var dataset: String
    /// The neighbouring relation every release against the dataset uses,
    /// fixed when its budget is first set.
    public var relation: NeighbouringRelation
    /// The total budget.
    public var total: PrivacyCost
    /// What all recorded charges compose to, as (epsilon, delta): the
    /// smaller of basic composition and zCDP composition of the Gaussian
    /// charges (see ``LedgerAccounting``).
    public var spent: PrivacyCost
    /// total - spent (never below zero).
    public var remaining: PrivacyCost
    /// Number of recorded charges.
    public var releases: Int
    /// The charges in the units they compose in (pure epsilon, rho,
    /// approximate (epsilon, delta)) and the rule used for `spent`.
    public var accounting: LedgerAccounting
}

/// What became of a charge.
public enum SpendOutcome: String, Codable, Sendable {
    /// Charged; the release had not finished (or the process stopped before recording it).
    case charged
    /// Charged and released; the result's digest is recorded.
    case released
    /// Charged, then failed after the data was read; nothing was released.
    case failed
    /// A correction added when an older ledger was upgraded (see docs/privacy.md).
    case adjustment
}

/// One recorded charge.
public struct SpendRecord: Codable, Sendable, Equatable {
    /// Sequence number in the ledger.
    public var id: Int64
    /// The dataset charged.
    public var dataset: String
    /// The neighbouring relation of the release.
    public var relation: NeighbouringRelation
    /// The cost charged (rounded up to the ledger's units); `rho` is set for
    /// a zCDP (Gaussian) charge, which the ledger composes by its rho.
    public var cost: PrivacyCost
    /// Mechanism name (e.g. "discrete-laplace").
    public var mechanism: String
    /// The release parameters (JSON text chosen by the caller).
    public var parameters: String
    /// When it was charged (ISO 8601, UTC).
    public var time: String
    /// What became of the charge.
    public var outcome: SpendOutcome
    /// Hex SHA-256 of the input data (the file's bytes), once read in full.
    /// As sensitive as the data itself: see docs/privacy.md.
    public var dataSHA256: String?
    /// Hex SHA-256 of the released result's canonical bytes (released charges only).
    public var resultSHA256: String?
}

/// What a release asks the ledger to charge.
public struct ChargeRequest: Sendable {
    /// The dataset to charge.
    public var dataset: String
    /// The release's cost. With `rho` set, the charge is rho-zCDP (and also
    /// (epsilon, delta)-DP); without it, (epsilon, delta)-DP, pure when delta is 0.
    public var cost: PrivacyCost
    /// The release's neighbouring relation; must be the dataset's.
    public var relation: NeighbouringRelation
    /// Mechanism name (e.g. "discrete-laplace").
    public var mechanism: String
    /// The release parameters (JSON text).
    public var parameters: String

    /// A charge request.
    public init(dataset: String, cost: PrivacyCost, relation: NeighbouringRelation, mechanism: String, parameters: String) {
        self.dataset = dataset
        self.cost = cost
        self.relation = relation
        self.mechanism = mechanism
        self.parameters = parameters
    }
}

/// A privacy-budget ledger: per-dataset totals, each with its fixed
/// neighbouring relation, and an append-only record of charges. Budgets
/// compose in their own units: pure epsilons add, zCDP rhos add, and the
/// two are converted to (epsilon, delta) only to compare with the budget
/// and to report (``LedgerAccounting``).
///
/// A release is *charged before the data is read*: ``charge(_:)`` checks the
/// relation and the budget and commits the charge in one exclusive
/// transaction (so concurrent releases can never overspend); the release
/// then reads the data, draws the noise and records the outcome with
/// ``complete(charge:outcome:dataSHA256:resultSHA256:)``. No path un-charges
/// a release, so no failure that depends on the data is free.
/// ``SQLitePrivacyLedger`` is the embedded implementation; a shared server
/// database can implement the same protocol.
public protocol PrivacyLedger {
    /// Creates or changes a dataset's total budget. `relation` fixes the
    /// neighbouring relation of a new dataset (nil: add-remove) and must
    /// match that of a dataset which already has charges (nil: keep it).
    func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws
    /// One dataset's status; throws ``DPError/unknownDataset(_:)`` if it has no budget.
    func status(dataset: String) throws -> BudgetStatus
    /// Every dataset's status, by name.
    func allStatuses() throws -> [BudgetStatus]
    /// The charges recorded for a dataset, oldest first.
    func spends(dataset: String) throws -> [SpendRecord]
    /// Checks the dataset's relation and remaining budget and commits the
    /// charge; returns its id. Throws ``DPError/relationMismatch(dataset:ledger:requested:reason:)``
    /// or ``DPError/budgetExceeded(dataset:requested:remaining:)`` without charging.
    func charge(_ request: ChargeRequest) throws -> Int64
    /// Charges several requests together: all are committed in one
    /// transaction, or none (the first refusal is thrown). Returns their ids.
    func charge(_ requests: [ChargeRequest]) throws -> [Int64]
    /// Charges `requests` together, idempotently by `requestID`: the first
    /// call commits the charges and records the id with a fingerprint of the
    /// requests; a later call with the same id and the same requests charges
    /// nothing and returns the same receipt with `replayed` true; the same id
    /// with different requests throws ``DPError/requestIDReused(requestID:)``.
    /// Refusals are those of ``charge(_:)-([ChargeRequest])``.
    func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool)
    /// Records what became of a charge (`released` with the result's digest,
    /// or `failed`). A charge is completed at most once and never removed.
    func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws
}

extension PrivacyLedger {
    /// One charge (see ``charge(_:)-([ChargeRequest])``), the same for every engine.
    public func charge(_ request: ChargeRequest) throws -> Int64 {
        try charge([request])[0]
    }

    /// For a ledger that keeps no request ids: charges without one, and
    /// refuses a request id (it could not make the retry idempotent).
    public func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool) {
        guard requestID == nil else { throw DPError.invalidQuery("this ledger does not keep request ids") }
        return (ChargeReceipt(requestID: nil, charges: try charge(requests), chargedAt: LedgerRules.now()), false)
    }

    /// Creates a dataset (add-remove) or changes its total, keeping its relation.
    public func setTotal(dataset: String, budget: PrivacyCost) throws {
        try setTotal(dataset: dataset, budget: budget, relation: nil)
    }

    /// Charges `request`, runs `release` (which reads the data, draws the
    /// noise and returns the result, its canonical bytes and the data's
    /// digest), and records the outcome. If `release` throws, the charge
    /// stands (recorded as `failed`) and the error is rethrown as
    /// ``DPError/failedAfterCharge(dataset:reason:)``.
    public func spend<T>(_ request: ChargeRequest,
                         release: () throws -> (result: T, canonicalBytes: [UInt8], dataSHA256: String?)) throws -> T {
        let id = try charge(request)
        let output: (result: T, canonicalBytes: [UInt8], dataSHA256: String?)
        do {
            output = try release()
        } catch {
            try? complete(charge: id, outcome: .failed, dataSHA256: nil, resultSHA256: nil)
            if case DPError.failedAfterCharge = error { throw error }
            throw DPError.failedAfterCharge(dataset: request.dataset, reason: "\(error)")
        }
        try complete(charge: id, outcome: .released, dataSHA256: output.dataSHA256,
                     resultSHA256: SHA2.SHA256.hash(data: output.canonicalBytes).hex)
        return output.result
    }
}

/// A ledger whose charges all carry one request id (a CLI invocation's
/// `--request-id`), so a retried release is never charged twice. A replayed
/// request is refused with ``DPError/requestReplayed(requestID:charges:outcomes:)``
/// before any data is read: the release of a charge is never run twice
/// (two noisy answers for one charge would spend more than was charged).
public struct RequestScopedLedger: PrivacyLedger {
    /// The ledger charged.
    public let base: any PrivacyLedger
    /// The request id every charge carries.
    public let requestID: String

    /// Wraps `base`; throws ``DPError/invalidQuery(_:)`` for a malformed id.
    public init(_ base: any PrivacyLedger, requestID: String) throws {
        try LedgerRules.validate(requestID: requestID)
        self.base = base
        self.requestID = requestID
    }

    /// Forwards to the base ledger.
    public func setTotal(dataset: String, budget: PrivacyCost, relation: NeighbouringRelation?) throws {
        try base.setTotal(dataset: dataset, budget: budget, relation: relation)
    }
    /// Forwards to the base ledger.
    public func status(dataset: String) throws -> BudgetStatus { try base.status(dataset: dataset) }
    /// Forwards to the base ledger.
    public func allStatuses() throws -> [BudgetStatus] { try base.allStatuses() }
    /// Forwards to the base ledger.
    public func spends(dataset: String) throws -> [SpendRecord] { try base.spends(dataset: dataset) }
    /// Charges under the request id; a replay throws ``DPError/requestReplayed(requestID:charges:outcomes:)``.
    public func charge(_ requests: [ChargeRequest]) throws -> [Int64] {
        let (receipt, replayed) = try base.charge(requests, requestID: requestID)
        if replayed {
            let datasets = Set(requests.map { ExactString($0.dataset) }).sorted()
            let records = try datasets.flatMap { try base.spends(dataset: $0.string) }
            let outcomes = receipt.charges.map { id in records.first { $0.id == id }?.outcome ?? .charged }
            throw DPError.requestReplayed(requestID: requestID, charges: receipt.charges, outcomes: outcomes)
        }
        return receipt.charges
    }
    /// Forwards to the base ledger (the id given here wins over ``requestID``).
    public func charge(_ requests: [ChargeRequest], requestID: String?) throws -> (receipt: ChargeReceipt, replayed: Bool) {
        try base.charge(requests, requestID: requestID ?? self.requestID)
    }
    /// Forwards to the base ledger.
    public func complete(charge: Int64, outcome: SpendOutcome, dataSHA256: String?, resultSHA256: String?) throws {
        try base.complete(charge: charge, outcome: outcome, dataSHA256: dataSHA256, resultSHA256: resultSHA256)
    }
}
