import BigInt
import Foundation

/// Accumulates one column's values exactly (integers on a power-of-two grid)
/// and releases the requested statistic with calibrated integer noise.
///
/// Everything that can fail is checked in ``init(spec:)``, before any data
/// is read: the parameters, the grid, the noise calibration and the
/// finiteness of every reported number. Adding a value never fails (invalid
/// values follow ``StatisticSpec/invalid`` row by row, sums are 128-bit),
/// and ``release(using:)`` post-processes with saturating arithmetic.
///
/// Streaming: memory is O(1) for count, sum, mean and variance, O(categories)
/// for histograms and O(candidates) for quantiles.
public final class StatisticAccumulator {
    /// The validated query.
    public let spec: StatisticSpec
    /// The privacy cost the release will have (known before any data is read).
    public private(set) var cost = PrivacyCost(epsilon: 0)

    /// One noisy integer query of the release.
    struct Component {
        var name: String
        var noise: IntegerNoise?
        var sensitivity: Rational
        var squaredSensitivity: Rational
        var epsilon: Double?
        var rho: Double?
        /// Half-width at the release's per-part level (Bonferroni) and at 95%, in grid units.
        var halfWidth = 0.0, halfWidth95 = 0.0
    }

    let grid: ValueGrid?
    var components: [Component] = []
    /// Records counted (after the invalid-value rule).
    private(set) var records: Int64 = 0
    var sum = WideSum()          // sum of c
    var sumOfSquares = WideSum() // sum of c^2
    var bins: [Int64] = []
    private var categoryIndex: [[UInt8]: Int] = [:]
    var candidates: [Double] = []
    var bucketCounts: [Int64] = []
    /// The fixed-work quantile sampler's draws, Bernoulli(exp(-lambda 2^i)).
    var fixedWorkDraws: [ExactSamplers.FixedExpMinus] = []
    /// A noisy count already drawn for component 0 (grouped releases draw
    /// it for the partition selection and release the same value).
    var presetCount: Double?
    /// The value an invalid numeric field becomes (nil: the row is dropped).
    private let invalidNumber: Double?
    /// The bin an invalid histogram field goes to (nil: none).
    private let invalidCategory: Int?

    /// Validates `spec`, calibrates the noise and checks that the release
    /// can only produce finite numbers.
    public init(spec: StatisticSpec) throws {
        try spec.validate()
        self.spec = spec
        grid = spec.isNumeric ? try spec.bounds.map { try ValueGrid(bounds: $0) } : nil
        switch (spec.invalid, spec.isNumeric ? spec.bounds : nil) {
        case (.clamp, let b?): invalidNumber = b.lowerBound
        case (.impute(let text), let b?):
            guard let v = NumberField.parse(text), !v.isNaN else { throw DPError.invalidQuery("the invalid-value rule impute=VALUE needs a number") }
            invalidNumber = min(max(v, b.lowerBound), b.upperBound)
        default: invalidNumber = nil
        }
        if case .histogram(let categories) = spec.statistic {
            for (i, c) in categories.enumerated() where categoryIndex[Array(c.utf8)] == nil { categoryIndex[Array(c.utf8)] = i }
            bins = [Int64](repeating: 0, count: categories.count)
        }
        if case .impute(let text) = spec.invalid { invalidCategory = categoryIndex[Array(text.utf8)] } else { invalidCategory = nil }
        try calibrate()
        try checkFinite()
    }

    /// A fresh accumulator with the calibration of `template` (no
    /// recomputation): one per group of a grouped release.
    init(sharingCalibrationOf template: StatisticAccumulator) {
        spec = template.spec
        cost = template.cost
        grid = template.grid
        components = template.components
        categoryIndex = template.categoryIndex
        bins = template.bins.map { _ in 0 }
        candidates = template.candidates
        fixedWorkDraws = template.fixedWorkDraws
        bucketCounts = template.bucketCounts.map { _ in 0 }
        invalidNumber = template.invalidNumber
        invalidCategory = template.invalidCategory
    }

    /// The integer queries with their sensitivities (L1, squared L2), scaled
    /// by the contribution bound K.
    private func queries() -> [(String, Rational, Rational)] {
        let k = Rational(spec.maxRowsPerID)
        func q(_ name: String, _ s: Rational, squared: Rational? = nil) -> (String, Rational, Rational) {
            (name, k * s, k * k * (squared ?? s * s))
        }
        let one = Rational(1)
        switch spec.statistic {
        case .count: return [q("count", one)]
        case .histogram:
            // Add/remove: one row changes one bin by 1. Replace-one: two bins by 1 (L2 sqrt 2).
            return spec.relation == .addRemove ? [q("bins", one)] : [q("bins", Rational(2), squared: Rational(2))]
        default: break
        }
        let grid = grid!
        let width = Rational(BigInt(grid.upperUnits - grid.lowerUnits))
        let maxC = Rational(grid.maxAbsCentred)
        switch (spec.statistic, spec.relation) {
        case (.sum, .addRemove) where spec.groupBy: return [q("count", one), q("sum", Rational(grid.maxAbsUncentred))]
        case (.sum, .addRemove): return [q("sum", Rational(grid.maxAbsUncentred))]
        case (.sum, .replaceOne): return [q("sum", width)]
        case (.mean, .addRemove): return [q("count", one), q("sum", maxC)]
        case (.mean, .replaceOne): return [q("sum", width)]
        case (.variance, .addRemove): return [q("count", one), q("sum", maxC), q("sum-of-squares", maxC * maxC)]
        case (.variance, .replaceOne): return [q("sum", width), q("sum-of-squares", maxC * maxC)]
        default: return []
        }
    }

    /// Sets up components and the total cost.
    private func calibrate() throws {
        if case .quantile(_, let m) = spec.statistic {
            let b = spec.bounds!
            candidates = (0..<m).map { j in
                j == m - 1 ? b.upperBound : b.lowerBound + (b.upperBound - b.lowerBound) * Double(j) / Double(m - 1)
            }
            bucketCounts = [Int64](repeating: 0, count: m + 1)
            let k = Rational(spec.maxRowsPerID)
            components = [Component(name: "exponential", noise: nil, sensitivity: k, squaredSensitivity: k * k, epsilon: spec.epsilon, rho: nil)]
            if spec.quantileSampler == .fixedWork { fixedWorkDraws = try Self.fixedWorkDraws(spec: spec) }
            cost = PrivacyCost(epsilon: spec.epsilon)
            return
        }
        let queries = queries()
        guard !queries.isEmpty else { throw DPError.invalidQuery("no noisy query for \(spec.statistic.name)") }
        for (_, l1, _) in queries where !l1.isPositive {
            throw DPError.invalidQuery("bounds give a zero sensitivity on the grid")
        }
        let parts = queries.count
        switch spec.mechanism {
        case .laplace:
            guard let eps = Rational(decimalOf: spec.epsilon) else { throw DPError.invalidQuery("epsilon is not a finite number") }
            let share = eps / Rational(parts)
            for (name, l1, l2sq) in queries {
                let noise = IntegerNoise.laplace(sensitivity: l1, epsilon: share)
                components.append(Component(name: name, noise: noise, sensitivity: l1, squaredSensitivity: l2sq,
                                            epsilon: noise.epsilon(sensitivity: l1), rho: nil))
            }
            // A grouped release's delta is its partition selection's.
            cost = PrivacyCost(epsilon: spec.epsilon, delta: spec.groupBy ? spec.delta : 0)
        case .gaussian:
            let rhoTotal = ZCDP.rho(epsilon: spec.epsilon, delta: spec.delta)
            let rhoPart = rhoTotal / Double(parts)
            guard rhoPart.isNormal, rhoPart > 0 else {
                throw DPError.invalidQuery("epsilon \(spec.epsilon) at delta \(spec.delta) is too small for the gaussian mechanism (its zCDP rho underflows a double)")
            }
            var achieved = 0.0
            for (name, l1, l2sq) in queries {
                let noise = IntegerNoise.gaussian(squaredSensitivity: l2sq, rho: rhoPart)
                let rho = noise.rho(squaredSensitivity: l2sq)
                achieved += rho
                components.append(Component(name: name, noise: noise, sensitivity: l1, squaredSensitivity: l2sq, epsilon: nil, rho: rho))
            }
            cost = PrivacyCost(epsilon: spec.epsilon, delta: spec.delta, rho: achieved)
        }
    }

    /// Computes the reported half-widths and refuses a calibration whose
    /// reported numbers (noise parameters, half-widths, noise in output
    /// units, utility bounds) would not be finite doubles.
    private func checkFinite() throws {
        let level = 1 - 0.05 / Double(max(1, components.count))
        let g = grid?.spacing ?? 1
        func refuse() -> DPError {
            DPError.invalidQuery("epsilon \(spec.epsilon) is too small for this query: the calibrated noise would exceed the range of a double")
        }
        for i in components.indices {
            let c = components[i]
            guard c.sensitivity.doubleValue.isFinite, c.squaredSensitivity.doubleValue.isFinite else { throw refuse() }
            if let noise = c.noise {
                components[i].halfWidth = noise.halfWidth(level: level)
                components[i].halfWidth95 = noise.halfWidth(level: 0.95)
                guard noise.parameter.doubleValue.isFinite, components[i].halfWidth.isFinite,
                      (components[i].halfWidth95 * g).isFinite, (components[i].halfWidth * g).isFinite else { throw refuse() }
            }
            guard c.epsilon?.isFinite ?? true, c.rho?.isFinite ?? true else { throw refuse() }
        }
        if case .quantile = spec.statistic, !rankErrorBound95.isFinite { throw refuse() }
        guard cost.epsilon.isFinite, cost.rho?.isFinite ?? true else { throw refuse() }
    }

    /// The quantile's rank-error bound at 95%: (2K/epsilon)(ln m + ln 20).
    var rankErrorBound95: Double {
        guard case .quantile(_, let m) = spec.statistic else { return 0 }
        return 2 * Double(spec.maxRowsPerID) / spec.epsilon * (log(Double(m)) + log(20))
    }

    // MARK: adding rows

    /// Adds one row's field of the column; nil means the field is missing
    /// (the row has the wrong number of fields) or unreadable (not UTF-8,
    /// too long). Count counts the row; histogram matches declared
    /// categories byte for byte; the numeric statistics parse the field with
    /// ``NumberField`` and clamp it. Invalid values follow the spec's
    /// ``InvalidValueRule``. Never fails.
    public func add(field: String?) {
        switch spec.statistic {
        case .count:
            if field == nil && spec.invalid == .drop { return }
            records += 1
        case .histogram:
            guard let field else {
                if spec.invalid == .drop { return }
                records += 1
                if let i = invalidCategory { bins[i] += 1 }
                return
            }
            records += 1
            if let i = categoryIndex[Array(field.utf8)] { bins[i] += 1 }
        default:
            add(field.flatMap { NumberField.parse($0) } ?? .nan)
        }
    }

    /// Adds one numeric value: clamped to the bounds (infinities to the
    /// nearer bound); NaN is an invalid value and follows the rule. For
    /// count and histogram the row is counted. Never fails.
    public func add(_ value: Double) {
        guard spec.isNumeric, let b = spec.bounds else {
            add(field: value.isNaN ? nil : "\(value)")
            return
        }
        var x = value
        if x.isNaN {
            guard let replacement = invalidNumber else { return }
            x = replacement
        }
        records += 1
        let clamped = min(max(x, b.lowerBound), b.upperBound)
        if case .quantile = spec.statistic {
            // bucket = number of candidates <= clamped
            var lo = 0, hi = candidates.count
            while lo < hi { let mid = (lo + hi) / 2; if candidates[mid] <= clamped { lo = mid + 1 } else { hi = mid } }
            bucketCounts[lo] += 1
            return
        }
        let c = grid!.centred(clamped)
        sum.add(c)
        sumOfSquares.add(c * c)
    }

    /// Adds a row whose value is invalid (same as `add(field: nil)`).
    public func addInvalid() { add(field: nil) }
}
