import BigInt
import Foundation

/// A count, sum or mean per group of a column whose values (the group keys)
/// are not public, with private partition selection.
///
/// Every group that occurs in the data gets a noisy count c~ = c + Z, Z
/// discrete Laplace with scale b = K / epsilon_count (K the rows per person,
/// which is also the most groups one person can add), and is released only
/// if c~ >= tau. Groups absent from the data are never released, so the
/// only outputs a person can add are groups that exist because of them.
///
/// Accounting (add/remove of one person, who changes at most K rows in at
/// most K groups): the vector of counts of the groups present without the
/// person changes by at most K in L1, so the noisy counts (and, with the
/// rest of the budget, the noisy sums) are epsilon-DP; thresholding is
/// post-processing. A group the person alone creates has c <= K and is
/// released with probability P[Z >= tau - K] = alpha^(tau-K) / (1 + alpha),
/// alpha = e^(-1/b); over at most K such groups that is at most delta' =
/// K alpha^t with t = tau - K. Then for every output set O,
/// P[M(D') in O] <= e^eps P[M(D) in O] + delta' and
/// P[M(D) in O] <= e^eps P[M(D') in O] + e^eps delta', so the release is
/// (epsilon, delta)-DP when delta' = delta e^-epsilon. tau = K + t with
/// t = ceil(b ln(K e^epsilon / delta)) + 1 (the + 1 absorbs floating-point
/// rounding in the logarithm).
///
/// The budget is split evenly between the count (which also selects) and,
/// for sum and mean, the sum (see ``StatisticAccumulator``). Memory grows
/// with the number of distinct keys; running time with it too (see
/// docs/threat-model.md).
public final class GroupedAccumulator {
    /// The validated query (``StatisticSpec/groupBy`` is true).
    public let spec: StatisticSpec
    /// The calibration every group shares.
    let template: StatisticAccumulator
    private var groups: [[UInt8]: (key: String, accumulator: StatisticAccumulator)] = [:]
    /// tau, in records.
    public let threshold: BigInt

    /// The release's cost: epsilon, and delta for the partition selection.
    public var cost: PrivacyCost { template.cost }

    /// Validates `spec` and computes the selection threshold.
    public init(spec: StatisticSpec) throws {
        guard spec.groupBy else { throw DPError.invalidQuery("a grouped accumulator needs a grouped query") }
        template = try StatisticAccumulator(spec: spec)
        self.spec = spec
        guard let noise = template.components.first?.noise, template.components[0].name == "count" else {
            throw DPError.invalidQuery("grouped releases support count, sum and mean")
        }
        let b = noise.parameter.doubleValue
        let k = Double(spec.maxRowsPerID)
        let t = (b * (log(k / spec.delta) + spec.epsilon)).rounded(.up) + 1
        guard t.isFinite, t < 0x1p100 else {
            throw DPError.invalidQuery("epsilon \(spec.epsilon) is too small for a grouped release: the selection threshold would exceed the range of a double")
        }
        threshold = BigInt(spec.maxRowsPerID) + BigInt(max(t, 1))
    }

    /// Adds one row: its group key (nil: missing or unreadable, and the row
    /// is left out, which is a row-by-row filter) and its field of the value column.
    public func add(group: String?, field: String?) {
        guard let group else { return }
        let key = Array(group.utf8)
        if let existing = groups[key] {
            existing.accumulator.add(field: field)
        } else {
            let accumulator = StatisticAccumulator(sharingCalibrationOf: template)
            accumulator.add(field: field)
            groups[key] = (group, accumulator)
        }
    }

    /// Draws each present group's noisy count, keeps the groups at or above
    /// the threshold, and releases their statistic (groups in byte order of
    /// their keys).
    public func release<R: DPRandomSource>(using rng: inout R) throws -> DPRelease {
        let countNoise = template.components[0].noise!
        var selected: [DPRelease.Group] = []
        for key in groups.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let (name, accumulator) = groups[key]!
            let noisy = BigInt(accumulator.records) + countNoise.sample(using: &rng)
            guard noisy >= threshold else { continue }
            accumulator.presetCount = Saturating.double(noisy)
            let r = try accumulator.release(using: &rng)
            selected.append(DPRelease.Group(key: name, count: accumulator.presetCount!, value: spec.statistic == .count ? nil : r.value,
                                            confidenceInterval95: spec.statistic == .count ? nil : r.confidenceInterval95))
        }
        var release = try StatisticAccumulator(sharingCalibrationOf: template).releaseTemplate(using: &rng)
        release.cost = cost
        release.value = nil
        release.confidenceInterval95 = nil
        release.recordCount = nil
        release.groups = selected
        release.partitionThreshold = Double(threshold)
        release.noiseHalfWidth95 = template.components[0].halfWidth95
        release.notes.append("private partition selection: each group in the data gets a noisy count (discrete Laplace, scale \(countNoise.parameter.doubleValue)) and is released only if it is at least \(threshold); the count and the \(spec.statistic == .count ? "selection share one budget" : "sum split the budget evenly"); delta \(spec.delta) bounds the chance that a group one person creates is released")
        return release
    }
}

extension StatisticAccumulator {
    /// The fields every release shares (statistic, mechanism, components,
    /// notes), from an accumulator with no data.
    func releaseTemplate<R: DPRandomSource>(using rng: inout R) throws -> DPRelease {
        presetCount = 0
        return try release(using: &rng)
    }
}
