import BigInt
import Foundation

/// Vector statistics of several numeric columns: the clipped vector sum
/// and the covariance matrix, with discrete Gaussian noise (zCDP).
///
/// Each row is the vector x of its d fields. It is *clipped* to L2 norm at
/// most C (x times min(1, C/|x|)), put on the grid g = 2^k,
/// k = exponent(C) - 20, as the integer vector c = round(x/g), and then
/// scaled down further, if rounding left it longer, until the exact integer
/// check |c|^2 <= M holds, M = floor((C/g)^2) (an integer between 2^40 and
/// 2^42). So every row's integer vector has squared L2 norm at most M,
/// checked exactly, whatever the floating point did. A row with a missing
/// or non-numeric field (or a NaN) is the zero vector (it still counts as a
/// row); infinities are clipped like any large value after being replaced
/// by +-1e308.
///
/// Integer queries and their L2 sensitivities (add/remove; K rows per
/// person multiply them by K, replace-one by 2):
/// - vector sum: S = sum c, sensitivity sqrt(M);
/// - covariance: n (1; add/remove only, n is public under replace-one),
///   S (sqrt(M)) and the upper triangle of Q = sum c c^T (entries c_i c_j,
///   i <= j; sum_{i<=j} (c_i c_j)^2 <= |c|^4 <= M^2, sensitivity M), rho
///   split evenly between the queries.
/// Noise: each coordinate gets discrete Gaussian noise with
/// sigma^2 = Δ^2/(2 rho_part) (CKS 2020 Theorem 14, for vectors: a
/// d-dimensional discrete Gaussian with independent coordinates is
/// rho-zCDP for L2 sensitivity Δ), so the release is rho-zCDP, rho from the
/// requested (epsilon, delta) as for the scalar Gaussian releases.
/// Released: sum = g S~; covariance = g^2 (Q~/n~ - (S~/n~)(S~/n~)^T) with
/// n~ = max(noisy count, 1) under add/remove (the exact n under
/// replace-one, where it is public), symmetric, each entry clamped to
/// [-C^2, C^2] (the most any covariance of vectors of norm C can be).
public final class VectorAccumulator {
    /// Which vector statistic.
    public enum Kind: String, Codable, Sendable {
        /// The sum of the clipped row vectors.
        case vectorSum = "vector-sum"
        /// The covariance matrix of the clipped row vectors.
        case covariance
    }

    /// The statistic.
    public let kind: Kind
    /// The number of columns d.
    public let dimension: Int
    /// The L2 clipping norm C.
    public let clipNorm: Double
    /// Requested (epsilon, delta), neighbouring relation and contribution bound.
    public let epsilon: Double, delta: Double, relation: NeighbouringRelation, maxRowsPerID: Int
    /// The grid exponent k (g = 2^k).
    public let gridExponent: Int
    /// M = floor((C/g)^2), the bound on every row's squared integer norm.
    public let squaredNormBound: BigInt
    private let bound: Int64
    /// The cost (rho and the requested (epsilon, delta)).
    public private(set) var cost = PrivacyCost(epsilon: 0)

    private var count: Int64 = 0
    private var sum: [WideSum]
    private var products: [WideSum]   // upper triangle, row-major
    private var noises: [(name: String, noise: IntegerNoise, sensitivity2: Rational)] = []

    /// The largest dimension accepted.
    public static let maxDimension = 64

    /// Validates the query and calibrates the noise (nothing is read).
    public init(kind: Kind, dimension: Int, clipNorm: Double, epsilon: Double, delta: Double,
                relation: NeighbouringRelation = .addRemove, maxRowsPerID: Int = 1) throws {
        guard dimension >= (kind == .covariance ? 2 : 1), dimension <= Self.maxDimension else {
            throw DPError.invalidQuery("\(kind.rawValue) needs \(kind == .covariance ? 2 : 1) to \(Self.maxDimension) columns")
        }
        guard clipNorm.isFinite, clipNorm >= 0x1p-500, clipNorm <= 0x1p500 else {
            throw DPError.invalidQuery("the clipping norm must be a finite number in [2^-500, 2^500]")
        }
        guard epsilon.isFinite, StatisticSpec.epsilonRange.contains(epsilon) else {
            throw DPError.invalidQuery("epsilon must be a finite number in [1e-100, 1e9]")
        }
        guard delta.isFinite, delta > 0, delta < 1 else { throw DPError.invalidQuery("vector statistics use gaussian noise and need a delta in (0, 1)") }
        guard maxRowsPerID >= 1, maxRowsPerID <= StatisticSpec.maxRowsPerIDLimit else {
            throw DPError.invalidQuery("the rows per privacy id must be in 1...\(StatisticSpec.maxRowsPerIDLimit)")
        }
        if maxRowsPerID > 1 && relation == .replaceOne {
            throw DPError.invalidQuery("several rows per privacy id need the add-remove relation")
        }
        self.kind = kind; self.dimension = dimension; self.clipNorm = clipNorm
        self.epsilon = epsilon; self.delta = delta; self.relation = relation; self.maxRowsPerID = maxRowsPerID
        gridExponent = Int(clipNorm.exponent) - 20
        // C/g is exact and in [2^20, 2^21), so C/g * 2^32 is an exact integer N and M = floor(N^2 / 2^64).
        let scaled = Int64(clipNorm / Double(sign: .plus, exponent: gridExponent - 32, significand: 1))
        squaredNormBound = (BigInt(scaled) * BigInt(scaled)) >> 64
        bound = Int64(squaredNormBound)
        sum = Array(repeating: WideSum(), count: dimension)
        products = kind == .covariance ? Array(repeating: WideSum(), count: dimension * (dimension + 1) / 2) : []
        try calibrate()
    }

    private func calibrate() throws {
        let scale = Rational(BigInt(maxRowsPerID * (relation == .replaceOne ? 2 : 1)))
        let m = Rational(squaredNormBound)
        var queries: [(String, Rational)] = [("sum", scale * scale * m)]
        if kind == .covariance {
            queries = [("sum", scale * scale * m), ("products", scale * scale * m * m)]
            // Under replace-one n is public; under add/remove it is a noisy count.
            if relation == .addRemove { queries.insert(("count", scale * scale), at: 0) }
        }
        let rhoTotal = ZCDP.rho(epsilon: epsilon, delta: delta)
        let rhoPart = rhoTotal / Double(queries.count)
        guard rhoPart.isNormal else {
            throw DPError.invalidQuery("epsilon \(epsilon) at delta \(delta) is too small for the gaussian mechanism (its zCDP rho underflows a double)")
        }
        var achieved = 0.0
        for (name, s2) in queries {
            let noise = IntegerNoise.gaussian(squaredSensitivity: s2, rho: rhoPart)
            guard noise.parameter.doubleValue.isFinite else {
                throw DPError.invalidQuery("epsilon \(epsilon) is too small for this query: the calibrated noise would exceed the range of a double")
            }
            achieved += noise.rho(squaredSensitivity: s2)
            noises.append((name, noise, s2))
        }
        cost = PrivacyCost(epsilon: epsilon, delta: delta, rho: achieved)
    }

    /// The clipped integer vector (grid units) of one row's fields, as
    /// ``add(fields:)`` adds it; the zero vector for an invalid row. Its
    /// squared norm is at most ``squaredNormBound``.
    public func integerVector(_ fields: [String?]) -> [Int64] {
        let zero = [Int64](repeating: 0, count: dimension)
        var x = [Double](repeating: 0, count: dimension)
        for i in 0..<dimension {
            guard i < fields.count, let f = fields[i], let v = NumberField.parse(f), !v.isNaN else { return zero }
            x[i] = min(max(v, -1e308), 1e308)
        }
        // Divide by the largest magnitude first so the norm cannot overflow.
        let big = x.map(abs).max() ?? 0
        if big == 0 { return zero }
        let norm = big * x.reduce(0) { $0 + ($1 / big) * ($1 / big) }.squareRoot()
        let g = Double(sign: .plus, exponent: gridExponent, significand: 1)
        // |x| * factor <= C (up to rounding), so every coordinate is below 2^22 grid units.
        let factor = norm > clipNorm ? clipNorm / norm : 1
        var c = x.map { v -> Int64 in
            let units = (v * factor / g).rounded()
            return Int64(min(max(units, -0x1p40), 0x1p40))
        }
        // Exact integer check; shorten the largest coordinate until |c|^2 <= M.
        while c.reduce(Int64(0), { $0 + $1 * $1 }) > bound {
            let i = c.indices.max { abs(c[$0]) < abs(c[$1]) }!
            c[i] -= c[i].signum()
        }
        return c
    }

    /// Adds one row's fields, in column order.
    public func add(fields: [String?]) {
        let c = integerVector(fields)
        count += 1
        for i in 0..<dimension { sum[i].add(c[i]) }
        if kind == .covariance {
            var k = 0
            for i in 0..<dimension { for j in i..<dimension { products[k].add(c[i] * c[j]); k += 1 } }   // |c_i c_j| <= M < 2^42
        }
    }

    /// The release of a vector statistic.
    public struct Release: Codable, Sendable {
        /// `vector-sum` or `covariance`.
        public var statistic: String
        /// The columns, in order.
        public var columns: [String]
        /// The noisy clipped sum (vector sum).
        public var vector: [Double]?
        /// The noisy covariance matrix, row by row (covariance).
        public var matrix: [[Double]]?
        /// The L2 clipping norm.
        public var clipNorm: Double
        /// `discrete-gaussian`.
        public var mechanism: String
        /// The neighbouring relation.
        public var relation: NeighbouringRelation
        /// The cost: rho and the requested (epsilon, delta).
        public var cost: PrivacyCost
        /// The grid exponent k (g = 2^k).
        public var gridExponent: Int
        /// Per noisy query: name, squared L2 sensitivity in grid units, noise variance ("p/q").
        public var components: [Component]
        /// The record count as released (noisy under add/remove, exact under replace-one; covariance only).
        public var recordCount: Double?
        /// Half-width h with P[|noise| <= h] >= 95% per coordinate of the sum, in output units (vector sum).
        public var noiseHalfWidth95: Double?
        /// Method notes.
        public var notes: [String]

        /// One noisy integer query.
        public struct Component: Codable, Sendable {
            /// `count`, `sum` or `products`.
            public var query: String
            /// Squared L2 sensitivity in grid units (exact rational).
            public var squaredSensitivity: String
            /// The discrete Gaussian's variance (exact rational).
            public var variance: String
        }
    }

    /// Draws the noise and returns the release (never fails; saturating post-processing).
    public func release<R: DPRandomSource>(columns: [String], using rng: inout R) -> Release {
        let g = Double(sign: .plus, exponent: gridExponent, significand: 1)
        var r = Release(statistic: kind.rawValue, columns: columns, vector: nil, matrix: nil, clipNorm: clipNorm,
                        mechanism: IntegerNoise.Kind.discreteGaussian.rawValue, relation: relation, cost: cost,
                        gridExponent: gridExponent,
                        components: noises.map { .init(query: $0.name, squaredSensitivity: $0.sensitivity2.description, variance: $0.noise.parameter.description) },
                        recordCount: nil, noiseHalfWidth95: nil,
                        notes: ["rows clipped to L2 norm \(clipNorm) and rounded to the grid 2^\(gridExponent); every row's integer vector has squared norm <= \(squaredNormBound) (checked exactly)"])
        func noisy(_ name: String, _ exact: BigInt) -> Double {
            Saturating.double(exact + noises.first { $0.name == name }!.noise.sample(using: &rng))
        }
        switch kind {
        case .vectorSum:
            r.vector = sum.map { Saturating.multiply(noisy("sum", $0.value), g) }
            r.noiseHalfWidth95 = Saturating.multiply(noises[0].noise.halfWidth(level: 0.95), g)
        case .covariance:
            let n = relation == .replaceOne ? Double(max(count, 1)) : max(noisy("count", BigInt(count)), 1)
            r.recordCount = relation == .replaceOne ? Double(count) : n
            let means = sum.map { Saturating.divide(noisy("sum", $0.value), atLeastOne: n) }
            var q = [Double](repeating: 0, count: products.count)
            for k in products.indices { q[k] = Saturating.divide(noisy("products", products[k].value), atLeastOne: n) }
            let limit = clipNorm * clipNorm
            var matrix = [[Double]](repeating: [Double](repeating: 0, count: dimension), count: dimension)
            var k = 0
            for i in 0..<dimension {
                for j in i..<dimension {
                    let units = Saturating.subtract(q[k], Saturating.multiply(means[i], means[j]))
                    let value = Saturating.clamp(Saturating.multiply(Saturating.multiply(units, g), g), -limit, limit)
                    matrix[i][j] = value; matrix[j][i] = value
                    k += 1
                }
            }
            r.matrix = matrix
            r.notes.append(relation == .replaceOne
                ? "known size (replace-one): n public; noisy sum and upper-triangle products, rho split in two; covariance = Q/n - (S/n)(S/n)^T, entries clamped to [-C^2, C^2]"
                : "noisy count, sum and upper-triangle products, rho split in three; covariance = Q/n - (S/n)(S/n)^T, n = max(noisy count, 1), entries clamped to [-C^2, C^2]")
        }
        return r
    }
}
