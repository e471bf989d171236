import BigInt
import Foundation

/// Accumulates one column's values exactly (integers on a power-of-two grid)
/// and releases the requested statistic with calibrated integer noise.
///
/// Streaming: memory is O(1) for count, sum, mean and variance, O(categories)
/// for histograms and O(candidates) for quantiles.
public final class StatisticAccumulator {
    /// The validated query.
    public let spec: StatisticSpec
    /// The privacy cost the release will have (known before any data is read).
    public private(set) var cost = PrivacyCost(epsilon: 0)

    // Grid: values are rounded to multiples of 2^gridExponent.
    let gridExponent: Int
    let grid: Double
    let roundedLower: Int64, roundedUpper: Int64, roundedMid: Int64
    // Exact accumulators.
    private(set) var records: Int64 = 0
    private var sum: Int64 = 0          // sum of centred grid values (c = r - roundedMid)
    private var sumOfSquares: Int64 = 0 // sum of c^2
    private var bins: [Int64] = []
    private var categoryIndex: [String: Int] = [:]
    private var candidates: [Double] = []
    private var bucketCounts: [Int64] = []
    // Calibrated noise per component.
    private var components: [(name: String, noise: IntegerNoise?, sensitivity: Rational, squared: Rational, epsilon: Double?, rho: Double?)] = []

    /// Grid bits below the magnitude of the largest bound: 20 for sums and
    /// means (relative rounding error <= 2^-21 of the bound), 12 for variance
    /// (keeps sums of squares exact in 64 bits).
    static func gridBits(for statistic: Statistic) -> Int { statistic == .variance ? 12 : 20 }

    /// Validates `spec` and calibrates the noise.
    public init(spec: StatisticSpec) throws {
        try spec.validate()
        self.spec = spec
        if let b = spec.bounds {
            let magnitude = max(abs(b.lowerBound), abs(b.upperBound))
            gridExponent = Int(magnitude.exponent) - Self.gridBits(for: spec.statistic)
            grid = Double(sign: .plus, exponent: gridExponent, significand: 1)
            roundedLower = Int64((b.lowerBound / grid).rounded())
            roundedUpper = Int64((b.upperBound / grid).rounded())
            roundedMid = (roundedLower + roundedUpper) / 2
        } else {
            gridExponent = 0; grid = 1; roundedLower = 0; roundedUpper = 0; roundedMid = 0
        }
        try calibrate()
    }

    /// Sets up components and the total cost.
    private func calibrate() throws {
        let cL = Rational(Int(roundedLower - roundedMid)), cU = Rational(Int(roundedUpper - roundedMid))
        let maxAbsC = max(cL.magnitude, cU.magnitude)
        let one = Rational(1)
        var queries: [(String, Rational, Rational)] = []   // (name, L1 sensitivity, squared L2 sensitivity)
        switch (spec.statistic, spec.relation) {
        case (.count, _):
            queries = [("count", one, one)]
        case (.sum, .addRemove):
            // Uncentred sum of r: sensitivity max(|rL|, |rU|).
            let s = max(Rational(Int(roundedLower)).magnitude, Rational(Int(roundedUpper)).magnitude)
            queries = [("sum", s, s * s)]
        case (.sum, .replaceOne):
            let s = Rational(Int(roundedUpper - roundedLower))
            queries = [("sum", s, s * s)]
        case (.mean, .addRemove):
            queries = [("count", one, one), ("sum", maxAbsC, maxAbsC * maxAbsC)]
        case (.mean, .replaceOne):
            let s = cU - cL
            queries = [("sum", s, s * s)]
        case (.variance, .addRemove):
            let sq = maxAbsC * maxAbsC
            queries = [("count", one, one), ("sum", maxAbsC, maxAbsC * maxAbsC), ("sum-of-squares", sq, sq * sq)]
        case (.variance, .replaceOne):
            let s = cU - cL, sq = maxAbsC * maxAbsC
            queries = [("sum", s, s * s), ("sum-of-squares", sq, sq * sq)]
        case (.histogram(let categories), let relation):
            for (i, c) in categories.enumerated() where categoryIndex[c] == nil { categoryIndex[c] = i }
            bins = [Int64](repeating: 0, count: categories.count)
            let l1 = relation == .addRemove ? one : Rational(2)
            queries = [("bins", l1, l1)]   // squared L2: 1 or 2
        case (.quantile(_, let m), _):
            let b = spec.bounds!
            candidates = (0..<m).map { j in
                j == m - 1 ? b.upperBound : b.lowerBound + (b.upperBound - b.lowerBound) * Double(j) / Double(m - 1)
            }
            bucketCounts = [Int64](repeating: 0, count: m + 1)
            components = [("exponential", nil, one, one, spec.epsilon, nil)]
            cost = PrivacyCost(epsilon: spec.epsilon)
            return
        }
        let parts = queries.count
        switch spec.mechanism {
        case .laplace:
            guard let eps = Rational(decimalOf: spec.epsilon) else { throw DPError.invalidQuery("epsilon is not a finite number") }
            let share = eps / Rational(parts)
            for (name, l1, l2sq) in queries {
                let noise = IntegerNoise.laplace(sensitivity: l1, epsilon: share)
                components.append((name, noise, l1, l2sq, noise.epsilon(sensitivity: l1), nil))
            }
            cost = PrivacyCost(epsilon: spec.epsilon)
        case .gaussian:
            let rhoTotal = ZCDP.rho(epsilon: spec.epsilon, delta: spec.delta)
            var achieved = 0.0
            for (name, l1, l2sq) in queries {
                let noise = IntegerNoise.gaussian(squaredSensitivity: l2sq, rho: rhoTotal / Double(parts))
                let rho = noise.rho(squaredSensitivity: l2sq)
                achieved += rho
                components.append((name, noise, l1, l2sq, nil, rho))
            }
            cost = PrivacyCost(epsilon: spec.epsilon, delta: spec.delta, rho: achieved)
        }
    }

    /// Adds one field of the column. Count counts every record; histogram
    /// matches declared categories exactly; the others parse a finite
    /// number and clamp it to the bounds. `location` (e.g. "data.csv:12")
    /// names the field in errors.
    public func add(field: String, location: String) throws {
        switch spec.statistic {
        case .count:
            records += 1
        case .histogram:
            records += 1
            if let i = categoryIndex[field] { bins[i] += 1 }
        default:
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { throw DPError.invalidValue(location: location, reason: "empty value") }
            guard let value = Double(trimmed) else { throw DPError.invalidValue(location: location, reason: "'\(trimmed.prefix(40))' is not a number") }
            try add(value, location: location)
        }
    }

    /// Adds one numeric value (rejects NaN and infinities; clamps to the bounds).
    public func add(_ value: Double, location: String = "value") throws {
        guard value.isFinite else { throw DPError.invalidValue(location: location, reason: "NaN or infinite value rejected") }
        records += 1
        let b = spec.bounds ?? 0...0
        let clamped = min(max(value, b.lowerBound), b.upperBound)
        if case .quantile = spec.statistic {
            // bucket = number of candidates <= clamped
            var lo = 0, hi = candidates.count
            while lo < hi { let mid = (lo + hi) / 2; if candidates[mid] <= clamped { lo = mid + 1 } else { hi = mid } }
            bucketCounts[lo] += 1
            return
        }
        let c = Int64((clamped / grid).rounded()) - roundedMid
        let (s, o1) = sum.addingReportingOverflow(c)
        let (sq, o2) = c.multipliedReportingOverflow(by: c)
        let (ss, o3) = sumOfSquares.addingReportingOverflow(sq)
        guard !(o1 || o2 || o3) else { throw DPError.overflow("\(location): too many records for 64-bit exact sums on this grid") }
        sum = s; sumOfSquares = ss
    }

    /// Draws the noise and returns the release. Production callers pass a
    /// ``SecureRandomSource``.
    public func release<R: DPRandomSource>(using rng: inout R) throws -> DPRelease {
        let level = 1 - 0.05 / Double(max(1, components.count))
        func noisy(_ index: Int, _ exact: Int64) -> (value: Double, halfWidth: Double) {
            let noise = components[index].noise!
            let v = BigInt(exact) + noise.sample(using: &rng)
            return (Double(v), noise.halfWidth(level: level))
        }
        let bounds = spec.bounds.map { [$0.lowerBound, $0.upperBound] }
        let mechanism = components.first?.noise?.kind.rawValue ?? "exponential"
        var release = DPRelease(statistic: spec.statistic.name, column: nil, value: nil, histogram: nil, mechanism: mechanism,
                                relation: spec.relation, bounds: bounds, quantile: nil, cost: cost,
                                confidenceInterval95: nil, noiseHalfWidth95: nil, rankErrorBound95: nil,
                                components: [], notes: [])
        let g = grid, mid = Double(roundedMid)
        let lower = spec.bounds?.lowerBound ?? 0, upper = spec.bounds?.upperBound ?? 0
        func clampValue(_ x: Double) -> Double { min(max(x, lower), upper) }
        if spec.bounds != nil, spec.statistic != .count {
            release.notes.append("values clamped to [\(lower), \(upper)] and rounded to the grid 2^\(gridExponent); rounding is included in the sensitivity")
        }
        switch spec.statistic {
        case .count:
            let (v, h) = noisy(0, records)
            release.value = v; release.noiseHalfWidth95 = h; release.confidenceInterval95 = [v - h, v + h]
            if spec.relation == .replaceOne { release.notes.append("under replace-one the record count is public; noise is added anyway (sensitivity 1)") }
        case .sum:
            // Uncentred: sum of r = sum of c + n * mid (n is exact here; the noise is calibrated to the uncentred sum).
            let uncentred = BigInt(sum) + BigInt(records) * BigInt(roundedMid)
            let noise = components[0].noise!
            let v = Double(uncentred + noise.sample(using: &rng)) * g
            let h = noise.halfWidth(level: 0.95) * g
            release.value = v; release.noiseHalfWidth95 = h; release.confidenceInterval95 = [v - h, v + h]
        case .mean:
            if spec.relation == .addRemove {
                let (n, hn) = noisy(0, records), (s, hs) = noisy(1, sum)
                let nEff = max(n, 1)
                release.value = clampValue(g * (mid + s / nEff))
                let ratio = Self.ratioRange(s - hs, s + hs, max(n - hn, 1), max(n + hn, 1))
                release.confidenceInterval95 = [clampValue(g * (mid + ratio.lowerBound)), clampValue(g * (mid + ratio.upperBound))]
                release.notes.append("bounded size (add/remove): noisy count and noisy centred sum, budget split evenly; mean = sum / max(count, 1), clamped to the bounds")
            } else {
                guard records > 0 else { throw DPError.invalidQuery("mean under replace-one needs at least one record (the size is public)") }
                let (s, hs) = noisy(0, sum)
                let n = Double(records)
                release.value = clampValue(g * (mid + s / n))
                release.confidenceInterval95 = [clampValue(g * (mid + (s - hs) / n)), clampValue(g * (mid + (s + hs) / n))]
                release.notes.append("known size (replace-one): n = \(records) is public; mean = noisy centred sum / n")
            }
        case .variance:
            let maxVariance = ((upper - lower) / 2) * ((upper - lower) / 2)
            var n: Double, nRange: ClosedRange<Double>, si = 0
            if spec.relation == .addRemove {
                let (nv, hn) = noisy(0, records)
                n = max(nv, 1); nRange = max(nv - hn, 1)...max(nv + hn, 1); si = 1
                release.notes.append("bounded size (add/remove): noisy count, centred sum and sum of squares, budget split in three; variance = Q/n - (S/n)^2, clamped to [0, ((U-L)/2)^2]")
            } else {
                guard records > 0 else { throw DPError.invalidQuery("variance under replace-one needs at least one record (the size is public)") }
                n = Double(records); nRange = n...n
                release.notes.append("known size (replace-one): n = \(records) is public; noisy centred sum and sum of squares, budget split in two")
            }
            let (s, hs) = noisy(si, sum), (q, hq) = noisy(si + 1, sumOfSquares)
            let g2 = g * g
            func clampVar(_ x: Double) -> Double { min(max(x, 0), maxVariance) }
            release.value = clampVar(g2 * (q / n - (s / n) * (s / n)))
            let mean = Self.ratioRange(s - hs, s + hs, nRange.lowerBound, nRange.upperBound)
            let meanSq: ClosedRange<Double> = mean.contains(0) ? 0...max(mean.lowerBound * mean.lowerBound, mean.upperBound * mean.upperBound)
                : min(mean.lowerBound * mean.lowerBound, mean.upperBound * mean.upperBound)...max(mean.lowerBound * mean.lowerBound, mean.upperBound * mean.upperBound)
            let second = Self.ratioRange(q - hq, q + hq, nRange.lowerBound, nRange.upperBound)
            release.confidenceInterval95 = [clampVar(g2 * (second.lowerBound - meanSq.upperBound)), clampVar(g2 * (second.upperBound - meanSq.lowerBound))]
        case .histogram(let categories):
            let noise = components[0].noise!
            release.histogram = categories.indices.map { i in
                DPRelease.Bin(category: categories[i], count: Double(BigInt(bins[i]) + noise.sample(using: &rng)))
            }
            release.noiseHalfWidth95 = noise.halfWidth(level: 0.95)
            release.notes.append("values outside the declared categories are dropped; each bin gets independent noise")
        case .quantile(let q, let m):
            release.quantile = q
            release.value = try sampleQuantile(q: q, using: &rng)
            release.rankErrorBound95 = 2 / spec.epsilon * (log(Double(m)) + log(20))
            release.notes.append("exponential mechanism over \(m) evenly spaced candidates in the bounds, utility -|#{x < c} - q n| (sensitivity 1), sampled exactly by uniform proposal and Bernoulli(exp(-eps (u* - u)/2)) acceptance")
        }
        release.components = components.map { c in
            NoiseComponent(query: c.name, distribution: c.noise?.kind.rawValue ?? "exponential",
                           gridExponent: (c.name == "count" || spec.bounds == nil) ? nil : gridExponent,
                           sensitivity: spec.mechanism == .gaussian && c.noise != nil ? c.squared.doubleValue.squareRoot() : c.sensitivity.doubleValue,
                           parameter: c.noise?.parameter.description ?? (Rational(decimalOf: spec.epsilon)?.description ?? "\(spec.epsilon)"),
                           parameterValue: c.noise?.parameter.doubleValue ?? spec.epsilon,
                           epsilon: c.epsilon, rho: c.rho)
        }
        return release
    }

    /// The range of a / b over a in [a0, a1], b in [b0, b1] with b0 > 0.
    static func ratioRange(_ a0: Double, _ a1: Double, _ b0: Double, _ b1: Double) -> ClosedRange<Double> {
        let corners = [a0 / b0, a0 / b1, a1 / b0, a1 / b1]
        return corners.min()!...corners.max()!
    }

    /// Exponential mechanism, sampled exactly.
    private func sampleQuantile<R: DPRandomSource>(q: Double, using rng: inout R) throws -> Double {
        guard let qr = Rational(decimalOf: q), let eps = Rational(decimalOf: spec.epsilon) else { throw DPError.invalidQuery("bad quantile or epsilon") }
        let n = BigInt(records)
        var below = BigInt(0)
        // K_j = |cnt_j * qden - qnum * n| (utility scaled by qden).
        var scores: [BigInt] = []
        scores.reserveCapacity(candidates.count)
        for j in candidates.indices {
            below += BigInt(bucketCounts[j])
            scores.append(BigInt((below * BigInt(qr.denominator) - qr.numerator * n).magnitude))
        }
        let best = scores.min()!
        // exp(-eps (K_j - K*) / (2 qden))
        let scale = eps / Rational(BigInt(2) * BigInt(qr.denominator))
        while true {
            let j = Int(UInt64.random(in: 0..<UInt64(candidates.count), using: &rng))
            if ExactSamplers.bernoulliExpMinus(scale * Rational(scores[j] - best), using: &rng) { return candidates[j] }
        }
    }
}
