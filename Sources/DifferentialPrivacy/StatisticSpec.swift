import Foundation
import ModelSecIO

/// Which statistic to release.
public enum Statistic: Sendable, Equatable {
    /// Number of records.
    case count
    /// Sum of the clamped values.
    case sum
    /// Mean of the clamped values.
    case mean
    /// Population variance of the clamped values.
    case variance
    /// Count per declared category (values outside them are dropped).
    case histogram(categories: [String])
    /// The q-quantile, chosen among `candidates` evenly spaced points of the bounds.
    case quantile(q: Double, candidates: Int)

    /// The statistic's name as used on the command line.
    public var name: String {
        switch self {
        case .count: return "count"
        case .sum: return "sum"
        case .mean: return "mean"
        case .variance: return "variance"
        case .histogram: return "histogram"
        case .quantile: return "quantile"
        }
    }
}

/// Which datasets count as neighbours.
public enum NeighbouringRelation: String, Codable, Sendable, CaseIterable {
    /// Add or remove one record (unbounded DP; the default). The record count is private.
    case addRemove = "add-remove"
    /// Replace one record by another (bounded DP). The record count is public.
    case replaceOne = "replace-one"
}

/// The noise family.
public enum NoiseMechanism: String, Codable, Sendable, CaseIterable {
    /// Discrete Laplace noise, pure epsilon-DP.
    case laplace
    /// Discrete Gaussian noise, rho-zCDP reported as (epsilon, delta).
    case gaussian
}

/// A fully specified DP query: statistic, clamping bounds, relation,
/// mechanism and budget. ``validate()`` checks it before any data is read.
public struct StatisticSpec: Sendable {
    /// The statistic.
    public var statistic: Statistic
    /// Clamping bounds (mandatory for every numeric statistic; unused by count and histogram).
    public var bounds: ClosedRange<Double>?
    /// Neighbouring relation.
    public var relation: NeighbouringRelation
    /// Noise family.
    public var mechanism: NoiseMechanism
    /// Total epsilon of the release.
    public var epsilon: Double
    /// Total delta of the release (required for gaussian, must be absent or 0 for laplace).
    public var delta: Double

    /// A query specification.
    public init(statistic: Statistic, bounds: ClosedRange<Double>? = nil, relation: NeighbouringRelation = .addRemove,
                mechanism: NoiseMechanism = .laplace, epsilon: Double, delta: Double = 0) {
        self.statistic = statistic
        self.bounds = bounds
        self.relation = relation
        self.mechanism = mechanism
        self.epsilon = epsilon
        self.delta = delta
    }

    /// Throws ``DPError/invalidQuery(_:)`` describing the first problem.
    public func validate() throws {
        guard epsilon.isFinite, epsilon > 0 else { throw DPError.invalidQuery("epsilon must be a positive finite number") }
        guard delta.isFinite, delta >= 0, delta < 1 else { throw DPError.invalidQuery("delta must be in [0, 1)") }
        switch mechanism {
        case .laplace where delta != 0:
            throw DPError.invalidQuery("the laplace mechanism is pure epsilon-DP; omit --delta or use --mechanism gaussian")
        case .gaussian where delta == 0:
            throw DPError.invalidQuery("the gaussian mechanism needs a delta > 0")
        default: break
        }
        switch statistic {
        case .count: break
        case .histogram(let categories):
            guard !categories.isEmpty else { throw DPError.invalidQuery("histogram needs at least one declared category") }
            guard Set(categories).count == categories.count else { throw DPError.invalidQuery("histogram categories must be distinct") }
        case .quantile(let q, let candidates):
            guard q >= 0, q <= 1 else { throw DPError.invalidQuery("quantile must be in [0, 1]") }
            guard candidates >= 2, candidates <= 1_000_000 else { throw DPError.invalidQuery("candidates must be in 2...1000000") }
            guard mechanism == .laplace else {
                throw DPError.invalidQuery("quantile uses the exponential mechanism (pure epsilon); use --mechanism laplace")
            }
        case .sum, .mean, .variance: break
        }
        switch statistic {
        case .count, .histogram: break
        default:
            guard let bounds else { throw DPError.invalidQuery("\(statistic.name) needs clamping bounds (--bounds L,U)") }
            guard bounds.lowerBound.isFinite, bounds.upperBound.isFinite, bounds.lowerBound < bounds.upperBound else {
                throw DPError.invalidQuery("bounds must be finite with L < U")
            }
            guard max(abs(bounds.lowerBound), abs(bounds.upperBound)) < 1e300 else { throw DPError.invalidQuery("bounds too large") }
        }
    }
}

/// Errors of the differential privacy module.
public enum DPError: ModelSecError, Equatable {
    /// The query is malformed (bad epsilon, missing bounds, ...).
    case invalidQuery(String)
    /// An input value is unusable (NaN, infinite, not a number); names where.
    case invalidValue(location: String, reason: String)
    /// An exact accumulator would overflow 64-bit integers.
    case overflow(String)
    /// The ledger refused the release: the dataset's budget would be exceeded.
    case budgetExceeded(dataset: String, requested: PrivacyCost, remaining: PrivacyCost)
    /// The ledger has no budget for this dataset.
    case unknownDataset(String)
    /// The ledger database could not be used.
    case ledger(path: String, reason: String)

    /// Budget refusals are failed checks (exit 1); everything else is unusable input (exit 2).
    public var category: FailureCategory {
        switch self {
        case .budgetExceeded: return .verificationFailed
        default: return .invalidInput
        }
    }

    /// One line naming the problem (and the file and line for input errors).
    public var description: String {
        switch self {
        case .invalidQuery(let m): return m
        case .invalidValue(let location, let reason): return "\(location): \(reason)"
        case .overflow(let m): return "exact accumulator overflow: \(m)"
        case .budgetExceeded(let dataset, let requested, let remaining):
            return "privacy budget of dataset '\(dataset)' exceeded: release needs \(requested), remaining \(remaining); nothing was released"
        case .unknownDataset(let d): return "dataset '\(d)' has no budget in the ledger (set one with: modelsec dp budget --set-total)"
        case .ledger(let path, let reason): return "\(path): \(reason)"
        }
    }
}
