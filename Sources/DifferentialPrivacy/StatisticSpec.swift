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
/// mechanism, budget, invalid-value rule and contribution bound.
/// ``validate()`` checks it before any data is read, including that every
/// number the release will compute stays finite.
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
    /// What happens to invalid values (see ``InvalidValueRule``).
    public var invalid: InvalidValueRule
    /// The most rows one privacy unit (person) may contribute; sensitivities
    /// are multiplied by it. 1 means one row per person. Values above 1 are
    /// only sound when the rows are bounded per person before accumulation
    /// (``CSVRelease`` does this with a privacy-id column).
    public var maxRowsPerID: Int
    /// Whether the statistic is released per group of a column whose values
    /// are not public (count, sum, mean; add-remove, laplace). `delta` is then
    /// the delta of the private partition selection (see ``GroupedAccumulator``).
    public var groupBy: Bool
    /// How a quantile is sampled (see ``QuantileSampler``).
    public var quantileSampler: QuantileSampler

    /// The range of epsilon accepted (the ledger stores epsilon in units of 1e-9).
    public static let epsilonRange: ClosedRange<Double> = 1e-100...1e9
    /// Bounds must lie strictly inside (-1e300, 1e300).
    public static let boundsMagnitudeLimit = 1e300
    /// The largest contribution bound K.
    public static let maxRowsPerIDLimit = 1_000_000

    /// A query specification.
    public init(statistic: Statistic, bounds: ClosedRange<Double>? = nil, relation: NeighbouringRelation = .addRemove,
                mechanism: NoiseMechanism = .laplace, epsilon: Double, delta: Double = 0,
                invalid: InvalidValueRule = .clamp, maxRowsPerID: Int = 1, groupBy: Bool = false,
                quantileSampler: QuantileSampler = .rejection) {
        self.statistic = statistic
        self.bounds = bounds
        self.relation = relation
        self.mechanism = mechanism
        self.epsilon = epsilon
        self.delta = delta
        self.invalid = invalid
        self.maxRowsPerID = maxRowsPerID
        self.groupBy = groupBy
        self.quantileSampler = quantileSampler
    }

    /// Whether the statistic parses numbers (and needs bounds).
    public var isNumeric: Bool {
        switch statistic {
        case .count, .histogram: return false
        default: return true
        }
    }

    /// Throws ``DPError/invalidQuery(_:)`` describing the first problem.
    /// Checks only the parameters; ``StatisticAccumulator/init(spec:)`` also
    /// checks that the calibrated noise is representable.
    public func validate() throws {
        guard epsilon.isFinite, Self.epsilonRange.contains(epsilon) else {
            throw DPError.invalidQuery("epsilon must be a finite number in [1e-100, 1e9]")
        }
        guard delta.isFinite, delta >= 0, delta < 1 else { throw DPError.invalidQuery("delta must be in [0, 1)") }
        if groupBy {
            guard [.count, .sum, .mean].contains(statistic) else {
                throw DPError.invalidQuery("grouped releases support count, sum and mean")
            }
            guard relation == .addRemove, mechanism == .laplace else {
                throw DPError.invalidQuery("grouped releases use the add-remove relation and laplace noise (the group set is private)")
            }
            guard delta > 0 else { throw DPError.invalidQuery("a grouped release needs a delta > 0 for its private partition selection") }
        }
        switch mechanism {
        case .laplace where delta != 0 && !groupBy:
            throw DPError.invalidQuery("the laplace mechanism is pure epsilon-DP: it takes no delta (the gaussian mechanism does)")
        case .gaussian where delta == 0:
            throw DPError.invalidQuery("the gaussian mechanism needs a delta > 0")
        default: break
        }
        guard maxRowsPerID >= 1, maxRowsPerID <= Self.maxRowsPerIDLimit else {
            throw DPError.invalidQuery("the rows per privacy id must be in 1...\(Self.maxRowsPerIDLimit)")
        }
        if maxRowsPerID > 1 && relation == .replaceOne {
            throw DPError.invalidQuery("several rows per privacy id need the add-remove relation: replacing one person changes the number of rows, which replace-one treats as public")
        }
        if invalid == .drop && relation == .replaceOne {
            throw DPError.invalidQuery("the invalid-value rule drop changes the number of records, which replace-one treats as public; use clamp or impute=VALUE")
        }
        switch statistic {
        case .count: break
        case .histogram(let categories):
            guard !categories.isEmpty else { throw DPError.invalidQuery("histogram needs at least one declared category") }
            guard Set(categories.map { Array($0.utf8) }).count == categories.count else {
                throw DPError.invalidQuery("histogram categories must be distinct")
            }
        case .quantile(let q, let candidates):
            guard q >= 0, q <= 1 else { throw DPError.invalidQuery("quantile must be in [0, 1]") }
            guard candidates >= 2, candidates <= 1_000_000 else { throw DPError.invalidQuery("candidates must be in 2...1000000") }
            guard mechanism == .laplace else {
                throw DPError.invalidQuery("quantile uses the exponential mechanism (pure epsilon), not gaussian noise")
            }
        case .sum, .mean, .variance: break
        }
        guard isNumeric else { return }
        guard let bounds else { throw DPError.invalidQuery("\(statistic.name) needs clamping bounds L,U") }
        guard bounds.lowerBound.isFinite, bounds.upperBound.isFinite, bounds.lowerBound < bounds.upperBound else {
            throw DPError.invalidQuery("bounds must be finite with L < U")
        }
        guard max(abs(bounds.lowerBound), abs(bounds.upperBound)) < Self.boundsMagnitudeLimit else {
            throw DPError.invalidQuery("bounds must lie strictly between -1e300 and 1e300")
        }
        let grid = try ValueGrid(bounds: bounds)
        if statistic == .variance {
            // The variance is released as g^2 * v with v <= 2^42 grid units:
            // g^2 must be a normal double and g^2 * 2^42 finite.
            let e = grid.exponent + ValueGrid.bits
            guard e <= 510 else {
                throw DPError.invalidQuery("variance needs U - L < 2^511 (about 6.7e153): (U - L)^2 would overflow a double")
            }
            guard e >= -491 else {
                throw DPError.invalidQuery("variance needs U - L >= 2^-491 (about 1.6e-148): (U - L)^2 would underflow a double")
            }
        }
        if case .impute(let text) = invalid {
            guard let v = NumberField.parse(text), !v.isNaN else {
                throw DPError.invalidQuery("the invalid-value rule impute=VALUE needs a number for \(statistic.name)")
            }
        }
    }
}
