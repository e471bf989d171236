import Foundation

/// The result of a differentially private release: the noisy value and
/// everything needed to interpret and audit it. Codable for `--json`.
public struct DPRelease: Codable, Sendable {
    /// One bin of a released histogram.
    public struct Bin: Codable, Sendable, Equatable {
        /// The declared category.
        public var category: String
        /// The noisy count.
        public var count: Double
    }

    /// One released group of a grouped release.
    public struct Group: Codable, Sendable, Equatable {
        /// The group's key (a value of the group-by column, selected privately).
        public var key: String
        /// The group's noisy count (the one that selected it).
        public var count: Double
        /// The group's sum or mean (nil for a grouped count).
        public var value: Double?
        /// The group's 95% noise interval for the sum or mean.
        public var confidenceInterval95: [Double]?
    }

    /// The statistic (count, sum, mean, variance, histogram, quantile).
    public var statistic: String
    /// The input column, when released from a CSV file.
    public var column: String?
    /// The noisy value (nil for a histogram).
    public var value: Double?
    /// The noisy histogram, in declared order (nil otherwise).
    public var histogram: [Bin]?
    /// "discrete-laplace", "discrete-gaussian", "exponential" or "permute-and-flip".
    public var mechanism: String
    /// Neighbouring relation the guarantee refers to.
    public var relation: NeighbouringRelation
    /// Clamping bounds used (nil for count and histogram).
    public var bounds: [Double]?
    /// The quantile level, for quantile releases.
    public var quantile: Double?
    /// The total privacy cost.
    public var cost: PrivacyCost
    /// An interval that contains the exact (clamped, grid-rounded) statistic
    /// with probability at least 95% over the noise (nil for histogram and
    /// quantile; see `noiseHalfWidth95` and `rankErrorBound95`).
    public var confidenceInterval95: [Double]?
    /// Count, sum, histogram: the half-width h with P[|noise| <= h] >= 95%
    /// (per bin for histograms), in output units.
    public var noiseHalfWidth95: Double?
    /// Quantile: with probability >= 95% the released candidate's rank error
    /// |#{x < c} - q n| exceeds the best candidate's by at most this many
    /// records (the exponential mechanism's utility bound). It is *not* a
    /// bound on the rank error itself: when the candidate grid is coarse
    /// for the data, the best candidate can be far off (see `notes`).
    public var rankErrorBound95: Double?
    /// The noise added to each underlying integer query.
    public var components: [NoiseComponent]
    /// Method notes (grid, size handling) for a person.
    public var notes: [String]
    /// The record count as released, for judging delta against 1/n: the
    /// exact n where it is public (replace-one), max(noisy count, 1) where the
    /// release includes a noisy count (count, mean, variance under
    /// add-remove), nil otherwise.
    public var recordCount: Double?
    /// The rule invalid values followed (`clamp`, `drop`, `impute=VALUE`).
    public var invalidValueRule: String?
    /// The most rows one privacy id contributed (absent: one row per person).
    public var maxRowsPerID: Int?
    /// The group-by column of a grouped release.
    public var groupBy: String?
    /// The released groups, in byte order of their keys (grouped releases).
    public var groups: [Group]?
    /// The noisy count a group needs to be released (grouped releases).
    public var partitionThreshold: Double?
    /// How the bounds were chosen, for a release with private bounds.
    public var boundsSelection: BoundsSelection?

    /// A private choice of clamping bounds (``ApproxBounds``).
    public struct BoundsSelection: Codable, Sendable, Equatable {
        /// The epsilon spent on the bounds (charged as its own ledger line).
        public var epsilon: Double
        /// The noisy bin count a bin needed to pass.
        public var threshold: Double
        /// The chosen lower bound.
        public var lower: Double
        /// The chosen upper bound.
        public var upper: Double
    }

    /// A release with the given fields (the optional extras start empty).
    public init(statistic: String, column: String?, value: Double?, histogram: [Bin]?, mechanism: String,
                relation: NeighbouringRelation, bounds: [Double]?, quantile: Double?, cost: PrivacyCost,
                confidenceInterval95: [Double]?, noiseHalfWidth95: Double?, rankErrorBound95: Double?,
                components: [NoiseComponent], notes: [String]) {
        self.statistic = statistic; self.column = column; self.value = value; self.histogram = histogram
        self.mechanism = mechanism; self.relation = relation; self.bounds = bounds; self.quantile = quantile
        self.cost = cost; self.confidenceInterval95 = confidenceInterval95; self.noiseHalfWidth95 = noiseHalfWidth95
        self.rankErrorBound95 = rankErrorBound95; self.components = components; self.notes = notes
    }

    /// The bytes whose SHA-256 the ledger records: compact JSON with sorted
    /// keys and unescaped slashes (see docs/privacy.md). Every number in a
    /// release is finite, so encoding cannot fail.
    public func canonicalBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}

/// One noisy integer query inside a release.
public struct NoiseComponent: Codable, Sendable {
    /// Which query ("count", "sum", "sum-of-squares", "bins", "exponential").
    public var query: String
    /// "discrete-laplace", "discrete-gaussian" or "exponential".
    public var distribution: String
    /// The grid spacing 2^gridExponent the values were rounded to (nil for counts).
    public var gridExponent: Int?
    /// The query's sensitivity in grid units (L1 for Laplace, L2 for Gaussian).
    public var sensitivity: Double
    /// The exact noise parameter: scale for Laplace, variance for Gaussian,
    /// epsilon for the exponential mechanism, as "p/q".
    public var parameter: String
    /// The same parameter as a double (for reading).
    public var parameterValue: Double
    /// This query's share of epsilon (Laplace, exponential mechanism).
    public var epsilon: Double?
    /// This query's rho (Gaussian).
    public var rho: Double?
}
