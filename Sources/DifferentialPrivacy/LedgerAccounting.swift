import Foundation

/// What a dataset's charges add up to, in the units each kind of charge
/// composes in, and the (epsilon, delta) that is reported and compared
/// with the budget.
///
/// Three kinds of charges (as OpenDP's and Tumult's odometers keep them):
/// - **pure**: epsilon-DP, delta 0, no rho (Laplace, discrete Laplace,
///   exponential mechanism);
/// - **zCDP**: rho-zCDP (Gaussian releases); such a charge also records the
///   (epsilon, delta) it was requested with, which it satisfies too;
/// - **approximate**: (epsilon, delta)-DP with no rho (partition selection,
///   relation adjustments, Gaussian charges made before ledger version 3).
///
/// Two sound totals are computed and the smaller epsilon that fits is used:
/// - *basic*: every charge as (epsilon, delta), epsilons and deltas added;
/// - *zCDP*: the rhos are added and converted once to (epsilon_z, delta_z)
///   with the remaining delta, delta_z = total delta - sum of approximate
///   deltas (CKS 2020 conversion, ``ZCDP/epsilon(rho:delta:)``), then added by
///   basic composition to the pure and approximate charges:
///   epsilon = sum pure + sum approximate + epsilon_z, delta = total delta.
/// Both bound the same sequence of mechanisms, so the smaller is a valid
/// guarantee; k Gaussian releases cost k rho, not k (epsilon, delta).
public struct LedgerAccounting: Codable, Sendable, Equatable {
    /// Sum of the epsilons of pure charges.
    public var pureEpsilon: Double
    /// Sum of the epsilons of approximate charges.
    public var approximateEpsilon: Double
    /// Sum of the deltas of approximate charges.
    public var approximateDelta: Double
    /// Sum of the rhos of zCDP charges.
    public var rho: Double
    /// Sum of the (epsilon, delta) the zCDP charges were requested with.
    public var zcdpAsEpsilonDelta: PrivacyCost
    /// Which total is reported as spent: `basic` or `zcdp`.
    public var rule: String
    /// The rho that could still be added under the zCDP total (nil when the
    /// total delta leaves nothing for a zCDP conversion).
    public var remainingRho: Double?
}

/// Integer sums of a dataset's charges (epsilon in 1e-9, delta and rho in 1e-15).
package struct ChargeSums: Equatable, Sendable {
    package var pureEpsilon: Int64 = 0
    package var approximateEpsilon: Int64 = 0
    package var approximateDelta: Int64 = 0
    package var zcdpEpsilon: Int64 = 0
    package var zcdpDelta: Int64 = 0
    package var rho: Int64 = 0

    /// No charges.
    package init() {}

    /// Sums read from a store.
    package init(pureEpsilon: Int64, approximateEpsilon: Int64, approximateDelta: Int64, zcdpEpsilon: Int64, zcdpDelta: Int64, rho: Int64) {
        self.pureEpsilon = pureEpsilon
        self.approximateEpsilon = approximateEpsilon
        self.approximateDelta = approximateDelta
        self.zcdpEpsilon = zcdpEpsilon
        self.zcdpDelta = zcdpDelta
        self.rho = rho
    }

    /// The sums with one more charge, or nil on overflow.
    package func adding(epsilon: Int64, delta: Int64, rho r: Int64?) -> ChargeSums? {
        func add(_ a: Int64, _ b: Int64) -> Int64? {
            let (v, o) = a.addingReportingOverflow(b)
            return o ? nil : v
        }
        var s = self
        if let r {
            guard let e = add(zcdpEpsilon, epsilon), let d = add(zcdpDelta, delta), let rr = add(rho, r) else { return nil }
            s.zcdpEpsilon = e; s.zcdpDelta = d; s.rho = rr
        } else if delta == 0 {
            guard let e = add(pureEpsilon, epsilon) else { return nil }
            s.pureEpsilon = e
        } else {
            guard let e = add(approximateEpsilon, epsilon), let d = add(approximateDelta, delta) else { return nil }
            s.approximateEpsilon = e; s.approximateDelta = d
        }
        return s
    }

    /// A total in ledger units.
    package struct Total { package var epsilon: Int64; package var delta: Int64; package var rule: String }

    /// The basic-composition total.
    var basic: Total? {
        let (e1, o1) = pureEpsilon.addingReportingOverflow(approximateEpsilon)
        let (e, o2) = e1.addingReportingOverflow(zcdpEpsilon)
        let (d, o3) = approximateDelta.addingReportingOverflow(zcdpDelta)
        return o1 || o2 || o3 ? nil : Total(epsilon: e, delta: d, rule: "basic")
    }

    /// The zCDP total against a budget whose delta is `totalDelta` units
    /// (nil without rho, or when no delta is left for the conversion).
    func zcdp(totalDelta: Int64) -> Total? {
        guard rho > 0, totalDelta > approximateDelta else { return nil }
        let rhoValue = (Double(rho) / SQLitePrivacyLedger.rhoUnit).nextUp
        let deltaZ = (Double(totalDelta - approximateDelta) / SQLitePrivacyLedger.deltaUnit).nextDown
        guard deltaZ > 0, deltaZ < 1 else { return nil }
        let epsilon = ZCDP.epsilon(rho: rhoValue, delta: deltaZ)
        let units = (epsilon * SQLitePrivacyLedger.epsilonUnit * (1 + 1e-12)).rounded(.up)
        guard units.isFinite, units < 9e18 else { return nil }
        let (e1, o1) = pureEpsilon.addingReportingOverflow(approximateEpsilon)
        let (e, o2) = e1.addingReportingOverflow(Int64(units))
        return o1 || o2 ? nil : Total(epsilon: e, delta: totalDelta, rule: "zcdp")
    }

    /// The total to report against a budget: the fitting total with the
    /// smaller epsilon, or (when none fits) the smaller epsilon.
    package func spent(totalEpsilon: Int64, totalDelta: Int64) -> Total? {
        let candidates = [basic, zcdp(totalDelta: totalDelta)].compactMap { $0 }
        let fitting = candidates.filter { $0.epsilon <= totalEpsilon && $0.delta <= totalDelta }
        return (fitting.isEmpty ? candidates : fitting).min { $0.epsilon < $1.epsilon }
    }

    /// Whether the charges fit the budget under either total.
    package func fits(totalEpsilon: Int64, totalDelta: Int64) -> Bool {
        [basic, zcdp(totalDelta: totalDelta)].contains { t in
            guard let t else { return false }
            return t.epsilon <= totalEpsilon && t.delta <= totalDelta
        }
    }

    /// The rho that could still be charged under the zCDP total.
    func remainingRho(totalEpsilon: Int64, totalDelta: Int64) -> Double? {
        let fixed = pureEpsilon.addingReportingOverflow(approximateEpsilon)
        guard !fixed.overflow, totalDelta > approximateDelta, totalEpsilon > fixed.partialValue else { return nil }
        let epsilon = Double(totalEpsilon - fixed.partialValue) / SQLitePrivacyLedger.epsilonUnit
        let deltaZ = Double(totalDelta - approximateDelta) / SQLitePrivacyLedger.deltaUnit
        guard deltaZ < 1 else { return nil }
        let available = ZCDP.rho(epsilon: epsilon, delta: deltaZ)
        return max(0, available - Double(rho) / SQLitePrivacyLedger.rhoUnit)
    }

    /// The public summary.
    package func accounting(totalEpsilon: Int64, totalDelta: Int64) -> LedgerAccounting {
        let e = SQLitePrivacyLedger.epsilonUnit, d = SQLitePrivacyLedger.deltaUnit
        return LedgerAccounting(pureEpsilon: Double(pureEpsilon) / e, approximateEpsilon: Double(approximateEpsilon) / e,
                                approximateDelta: Double(approximateDelta) / d, rho: Double(rho) / SQLitePrivacyLedger.rhoUnit,
                                zcdpAsEpsilonDelta: PrivacyCost(epsilon: Double(zcdpEpsilon) / e, delta: Double(zcdpDelta) / d),
                                rule: spent(totalEpsilon: totalEpsilon, totalDelta: totalDelta)?.rule ?? "basic",
                                remainingRho: remainingRho(totalEpsilon: totalEpsilon, totalDelta: totalDelta))
    }
}
