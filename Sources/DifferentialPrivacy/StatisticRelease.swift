import BigInt
import Foundation

extension StatisticAccumulator {
    /// Draws the noise and returns the release. Production callers pass a
    /// ``SecureRandomSource``.
    ///
    /// Every step after the noise is drawn is saturating post-processing
    /// (see ``Saturating``), with estimates clamped to their possible range,
    /// so the result is finite for any data. The only failure is a mean or
    /// variance under replace-one of zero records (n is public under that
    /// relation, so the failure reveals nothing the relation does not).
    public func release<R: DPRandomSource>(using rng: inout R) throws -> DPRelease {
        let bounds = spec.isNumeric ? spec.bounds.map { [$0.lowerBound, $0.upperBound] } : nil
        let mechanism = components.first?.noise?.kind.rawValue ?? quantileMechanismName
        var release = DPRelease(statistic: spec.statistic.name, column: nil, value: nil, histogram: nil, mechanism: mechanism,
                                relation: spec.relation, bounds: bounds, quantile: nil, cost: cost,
                                confidenceInterval95: nil, noiseHalfWidth95: nil, rankErrorBound95: nil,
                                components: [], notes: [])
        release.invalidValueRule = spec.invalid.description
        if spec.maxRowsPerID > 1 {
            release.maxRowsPerID = spec.maxRowsPerID
            release.notes.append("at most \(spec.maxRowsPerID) rows per privacy id; sensitivities multiplied by \(spec.maxRowsPerID)")
        }
        if let grid, spec.statistic != .count {
            release.notes.append("values clamped to [\(grid.lower), \(grid.upper)] and rounded to the grid 2^\(grid.exponent) (2^-\(ValueGrid.bits) of U - L or finer); rounding is included in the sensitivity")
        }
        switch spec.statistic {
        case .count:
            let (v, h) = noisy(0, BigInt(records), using: &rng)
            release.value = v; release.noiseHalfWidth95 = h; release.confidenceInterval95 = interval(v, h)
            release.recordCount = v
            if spec.relation == .replaceOne { release.notes.append("under replace-one the record count is public; noise is added anyway (sensitivity 1)") }
        case .sum:
            try releaseSum(into: &release, using: &rng)
        case .mean:
            try releaseMean(into: &release, using: &rng)
        case .variance:
            try releaseVariance(into: &release, using: &rng)
        case .histogram(let categories):
            release.histogram = categories.indices.map { i in
                DPRelease.Bin(category: categories[i], count: noisy(0, BigInt(bins[i]), using: &rng).value)
            }
            release.noiseHalfWidth95 = components[0].halfWidth95
            release.notes.append("values outside the declared categories are dropped; each bin gets independent noise")
        case .quantile(let q, let m):
            release.quantile = q
            release.value = try sampleQuantile(q: q, using: &rng)
            release.rankErrorBound95 = rankErrorBound95
            release.notes.append(Self.rankBoundNote(bound: rankErrorBound95, candidates: m, step: candidateStep))
            if spec.quantileSampler == .rejection {
                release.notes.append("exponential mechanism over \(m) evenly spaced candidates in the bounds, utility -|#{x < c} - q n| (sensitivity \(spec.maxRowsPerID)), sampled exactly by uniform proposal and Bernoulli(exp(-eps (u* - u)/(2 K))) acceptance")
            } else {
                release.notes.append("permute-and-flip over \(m) evenly spaced candidates in the bounds, utility -|#{x < c} - q n| (sensitivity \(spec.maxRowsPerID)), each candidate accepted with probability exp(-eps (u* - u)/(2 K)) from the same number of fixed-parameter Bernoulli draws (fixed work per candidate)")
            }
        }
        release.components = components.map { c in
            NoiseComponent(query: c.name, distribution: c.noise?.kind.rawValue ?? quantileMechanismName,
                           gridExponent: (c.name == "count" || grid == nil) ? nil : grid!.exponent,
                           sensitivity: spec.mechanism == .gaussian && c.noise != nil ? c.squaredSensitivity.doubleValue.squareRoot() : c.sensitivity.doubleValue,
                           parameter: c.noise?.parameter.description ?? (Rational(decimalOf: spec.epsilon)?.description ?? "\(spec.epsilon)"),
                           parameterValue: c.noise?.parameter.doubleValue ?? spec.epsilon,
                           epsilon: c.epsilon, rho: c.rho)
        }
        return release
    }

    /// The distance between neighbouring quantile candidates, (U - L)/(m - 1).
    var candidateStep: Double {
        guard case .quantile(_, let m) = spec.statistic, let bounds = spec.bounds, m > 1 else { return 0 }
        return (bounds.upperBound - bounds.lowerBound) / Double(m - 1)
    }

    /// What the quantile's rank bound promises, and what it does not: it is
    /// the exponential mechanism's utility guarantee, so it bounds the rank
    /// error *beyond the best candidate's*. The best candidate's own rank
    /// error depends on the data (records closer together than one step
    /// share every candidate's count), so no bound on it is released.
    static func rankBoundNote(bound: Double, candidates m: Int, step: Double) -> String {
        "rank error: with probability 95% the released candidate's rank (#{x < c}) is at most \(bound) records further from q n than the best of the \(m) candidates' is; the candidates are \(step) apart, so when many records lie within one step the best candidate is itself that many ranks off (this depends on the data, and is not bounded here): narrow the bounds or add candidates"
    }

    /// "exponential" or "permute-and-flip".
    var quantileMechanismName: String { spec.quantileSampler == .rejection ? "exponential" : "permute-and-flip" }

    /// exact + noise of component `index` as a saturated double, and the
    /// component's half-width at the release's per-part level.
    private func noisy<R: DPRandomSource>(_ index: Int, _ exact: BigInt, using rng: inout R) -> (value: Double, halfWidth: Double) {
        if index == 0, components[0].name == "count", let presetCount { return (presetCount, components[0].halfWidth) }
        let noise = components[index].noise!
        return (Saturating.double(exact + noise.sample(using: &rng)), components[index].halfWidth)
    }

    private func interval(_ v: Double, _ h: Double) -> [Double] {
        [Saturating.subtract(v, h), Saturating.add(v, h)]
    }

    /// The range of a / b over a in [a0, a1], b in [b0, b1] with b0 >= 1, clamped to [lo, hi].
    static func ratioRange(_ a0: Double, _ a1: Double, _ b0: Double, _ b1: Double, clampTo lo: Double, _ hi: Double) -> ClosedRange<Double> {
        let corners = [a0, a1].flatMap { a in [b0, b1].map { Saturating.clamp(Saturating.divide(a, atLeastOne: $0), lo, hi) } }
        return corners.min()!...corners.max()!
    }

    private func releaseSum<R: DPRandomSource>(into release: inout DPRelease, using rng: inout R) throws {
        let grid = grid!
        // The uncentred sum of r = c + M/g (n is exact here; under add-remove the
        // noise is calibrated to the uncentred sum, under replace-one n is public).
        let uncentred = sum.value + BigInt(records) * grid.originUnits
        let index = components.firstIndex { $0.name == "sum" }!
        if index > 0 { release.recordCount = noisy(0, BigInt(records), using: &rng).value }
        let (t, h) = noisy(index, uncentred, using: &rng)
        let v = Saturating.multiply(t, grid.spacing)
        let h95 = components[index].halfWidth95 * grid.spacing
        release.value = v; release.noiseHalfWidth95 = h95; release.confidenceInterval95 = interval(v, h * grid.spacing)
        if spec.relation == .replaceOne { release.recordCount = Double(records) }
    }

    /// Grid units -> output units: M + g * units, clamped to the bounds.
    private func output(_ units: Double) -> Double {
        let grid = grid!
        return Saturating.clamp(Saturating.add(grid.origin, Saturating.multiply(grid.spacing, units)), grid.lower, grid.upper)
    }

    /// The noisy count (add/remove) or the public n (replace-one), its
    /// range, and the index of the first sum component.
    private func size<R: DPRandomSource>(using rng: inout R) throws -> (n: Double, range: ClosedRange<Double>, first: Int) {
        if spec.relation == .addRemove {
            let (nv, hn) = noisy(0, BigInt(records), using: &rng)
            return (max(nv, 1), max(Saturating.subtract(nv, hn), 1)...max(Saturating.add(nv, hn), 1), 1)
        }
        guard records > 0 else {
            throw DPError.invalidQuery("\(spec.statistic.name) under replace-one needs at least one record (n = 0 is public under replace-one)")
        }
        let n = Double(records)
        return (n, n...n, 0)
    }

    private func releaseMean<R: DPRandomSource>(into release: inout DPRelease, using rng: inout R) throws {
        let grid = grid!
        let (n, nRange, first) = try size(using: &rng)
        let (s, hs) = noisy(first, sum.value, using: &rng)
        let cL = Double(grid.lowerUnits), cU = Double(grid.upperUnits)
        release.value = output(Saturating.clamp(Saturating.divide(s, atLeastOne: n), cL, cU))
        let ratio = Self.ratioRange(Saturating.subtract(s, hs), Saturating.add(s, hs), nRange.lowerBound, nRange.upperBound, clampTo: cL, cU)
        release.confidenceInterval95 = [output(ratio.lowerBound), output(ratio.upperBound)]
        release.recordCount = n
        if spec.relation == .addRemove {
            release.notes.append("bounded size (add/remove): noisy count and noisy centred sum, budget split evenly; mean = sum / max(count, 1), clamped to the bounds")
        } else {
            release.notes.append("known size (replace-one): n = \(records) is public; mean = noisy centred sum / n")
        }
    }

    private func releaseVariance<R: DPRandomSource>(into release: inout DPRelease, using rng: inout R) throws {
        let grid = grid!
        let (n, nRange, first) = try size(using: &rng)
        let (s, hs) = noisy(first, sum.value, using: &rng)
        let (q, hq) = noisy(first + 1, sumOfSquares.value, using: &rng)
        let cL = Double(grid.lowerUnits), cU = Double(grid.upperUnits)
        let maxSquare = max(cL * cL, cU * cU)           // <= 2^44
        let maxVariance = (cU - cL) * (cU - cL) / 4     // <= 2^42
        let g2 = grid.spacing * grid.spacing            // normal, and g2 * 2^44 finite (checked by validate())
        func variance(_ units: Double) -> Double { Saturating.clamp(units, 0, maxVariance) * g2 }
        let mean = Saturating.clamp(Saturating.divide(s, atLeastOne: n), cL, cU)
        let second = Saturating.clamp(Saturating.divide(q, atLeastOne: n), 0, maxSquare)
        release.value = variance(second - mean * mean)
        let meanRange = Self.ratioRange(Saturating.subtract(s, hs), Saturating.add(s, hs), nRange.lowerBound, nRange.upperBound, clampTo: cL, cU)
        let squares = [meanRange.lowerBound * meanRange.lowerBound, meanRange.upperBound * meanRange.upperBound]
        let meanSquare = meanRange.contains(0) ? 0...squares.max()! : squares.min()!...squares.max()!
        let secondRange = Self.ratioRange(Saturating.subtract(q, hq), Saturating.add(q, hq), nRange.lowerBound, nRange.upperBound, clampTo: 0, maxSquare)
        release.confidenceInterval95 = [variance(secondRange.lowerBound - meanSquare.upperBound), variance(secondRange.upperBound - meanSquare.lowerBound)]
        release.recordCount = n
        if spec.relation == .addRemove {
            release.notes.append("bounded size (add/remove): noisy count, centred sum and sum of squares, budget split in three; variance = Q/n - (S/n)^2, clamped to [0, ((U-L)/2)^2]")
        } else {
            release.notes.append("known size (replace-one): n = \(records) is public; noisy centred sum and sum of squares, budget split in two")
        }
    }
}
