import ModelSecIO

/// Errors of the differential privacy module. No message ever contains the
/// contents of a data cell (only file names, line numbers, column names and
/// parameters the caller chose).
public enum DPError: ModelSecError, Equatable {
    /// The query is malformed (bad epsilon, missing bounds, ...).
    case invalidQuery(String)
    /// The input is unusable as a whole (no header, missing column, malformed
    /// CSV); names where, never what the cells contain.
    case invalidValue(location: String, reason: String)
    /// An exact accumulator would overflow (unreachable for inputs that fit in a file).
    case overflow(String)
    /// The ledger refused the release: the dataset's budget would be exceeded.
    case budgetExceeded(dataset: String, requested: PrivacyCost, remaining: PrivacyCost)
    /// The ledger has no budget for this dataset.
    case unknownDataset(String)
    /// The dataset is accounted under one neighbouring relation and the
    /// release (or the new budget) asks for the other.
    case relationMismatch(dataset: String, ledger: NeighbouringRelation, requested: NeighbouringRelation, reason: String)
    /// The ledger database could not be used.
    case ledger(path: String, reason: String)
    /// Something failed after the budget was charged; the charge stands and
    /// nothing was released.
    case failedAfterCharge(dataset: String, reason: String)
    /// A request id was charged before for different requests.
    case requestIDReused(requestID: String)
    /// The request id was charged before: nothing was charged or released
    /// again; the charges and what became of them are named.
    case requestReplayed(requestID: String, charges: [Int64], outcomes: [SpendOutcome])
    /// A DP-SGD run longer than the accountant accepts.
    case tooManySteps(steps: Double, limit: Int)

    /// Budget refusals are failed checks (exit 1); everything else is unusable input (exit 2).
    public var category: FailureCategory {
        switch self {
        case .budgetExceeded: return .verificationFailed
        default: return .invalidInput
        }
    }

    /// Stable machine-readable identifier of each case.
    public var code: String {
        switch self {
        case .invalidQuery: return "dp.invalid-query"
        case .invalidValue: return "dp.invalid-input"
        case .overflow: return "dp.overflow"
        case .budgetExceeded: return "dp.budget-exceeded"
        case .unknownDataset: return "dp.unknown-dataset"
        case .relationMismatch: return "dp.relation-mismatch"
        case .ledger: return "dp.ledger-unusable"
        case .failedAfterCharge: return "dp.failed-after-charge"
        case .tooManySteps: return "dp.too-many-steps"
        case .requestIDReused: return "dp.request-id-reused"
        case .requestReplayed: return "dp.request-replayed"
        }
    }

    /// The ledger file, for ledger errors.
    public var path: String? {
        if case .ledger(let path, _) = self { return path }
        return nil
    }

    /// One line naming the problem (and the file and line for input errors).
    public var description: String {
        switch self {
        case .invalidQuery(let m): return m
        case .invalidValue(let location, let reason): return "\(location): \(reason)"
        case .overflow(let m): return "exact accumulator overflow: \(m)"
        case .budgetExceeded(let dataset, let requested, let remaining):
            return "privacy budget of dataset '\(dataset)' exceeded: release needs \(requested), remaining \(remaining); nothing was released"
        case .unknownDataset(let d): return "dataset '\(d)' has no budget in the ledger"
        case .relationMismatch(let dataset, let ledger, let requested, let reason):
            return "dataset '\(dataset)' is accounted under the \(ledger.rawValue) neighbouring relation; \(requested.rawValue) is refused: \(reason)"
        case .ledger(let path, let reason): return "\(path): \(reason)"
        case .failedAfterCharge(let dataset, let reason):
            return "\(reason); the charge to dataset '\(dataset)' stands (failures after the data is read are charged) and nothing was released"
        case .requestIDReused(let id):
            return "request id '\(id)' was already used for a different charge; nothing was charged"
        case .requestReplayed(let id, let charges, let outcomes):
            let list = zip(charges, outcomes).map { "#\($0) \($1.rawValue)" }.joined(separator: ", ")
            return "request id '\(id)' was already charged (\(list)); nothing was charged or released again"
        case .tooManySteps(let steps, let limit):
            return "\(steps) steps; at most \(limit) are accepted"
        }
    }
}
