import Foundation

/// DP-SGD accounting: the epsilon of a training run, and the inverse (the
/// smallest noise multiplier for a target epsilon), for three ways of
/// forming batches, each with its accountant (docs/privacy.md, section 3):
///
/// | sampling | relation | accountant |
/// |---|---|---|
/// | Poisson (rate q) | add/remove | PLD (default, ``PLDAccountant``) or RDP (``RDPAccountant``) |
/// | fixed-size (B of N without replacement, each step) | replace-one | RDP, Wang, Balle and Kasiviswanathan 2019, Theorem 9 (``FixedSizeSamplingAccountant``) |
/// | shuffle (a permutation per epoch, cut into batches) | replace-one | no amplification: one Gaussian per epoch, composed exactly as Gaussian DP (``ShuffleAccountant``) |
public enum DPSGDAccountant {
    /// How the epsilon of Poisson sampling is computed.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Privacy loss distributions (tight; default).
        case pld
        /// Rényi DP at `dp_accounting`'s default orders.
        case rdp
    }

    /// How batches are formed.
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        /// Each example joins each batch independently with probability q.
        case poisson
        /// Each batch is B examples drawn uniformly without replacement (q = B/N).
        case fixedSize = "fixed-size"
        /// Each epoch is a uniformly random permutation cut into batches of B.
        case shuffle
    }

    /// The result of an accounting query.
    public struct Result: Codable, Sendable {
        /// Noise multiplier (noise standard deviation / clipping norm).
        public var noiseMultiplier: Double
        /// Sampling rate q (batch size / dataset size).
        public var sampleRate: Double
        /// Number of steps.
        public var steps: Int
        /// Target delta.
        public var delta: Double
        /// The epsilon achieved.
        public var epsilon: Double
        /// The batch sampling scheme.
        public var sampling: Sampling
        /// The neighbouring relation of the guarantee (add-remove for Poisson, replace-one otherwise).
        public var relation: NeighbouringRelation
        /// The accountant that produced the epsilon (`pld`, `rdp`, or `gaussian-dp` for shuffling).
        public var method: String
        /// The Rényi order that gave the bound (RDP only).
        public var optimalOrder: Double?
        /// The privacy-loss grid spacing used (PLD only).
        public var discretization: Double?
        /// The epochs charged (shuffling only): ceil(steps * q).
        public var epochs: Int?
        /// A description of the accountant, with its reference.
        public var accountant: String
    }

    /// The most steps an accounting query accepts.
    public static let maxSteps = 1_000_000_000_000

    /// Steps for `epochs` epochs at sampling rate q: ceil(epochs / q).
    /// Throws ``DPError/tooManySteps(steps:limit:)`` unless that is between 1 and ``maxSteps``.
    public static func steps(epochs: Double, sampleRate: Double) throws -> Int {
        let steps = (epochs / sampleRate).rounded(.up)
        guard steps.isFinite, steps >= 1, steps <= Double(maxSteps) else {
            throw DPError.tooManySteps(steps: steps, limit: maxSteps)
        }
        return Int(steps)
    }

    /// epsilon after `steps` steps (+infinity when the accountant finds no finite bound).
    public static func epsilon(noiseMultiplier: Double, sampleRate: Double, steps: Int, delta: Double,
                               sampling: Sampling = .poisson, method: Method = .pld) -> Result {
        let sigma = noiseMultiplier, q = sampleRate
        var result = Result(noiseMultiplier: sigma, sampleRate: q, steps: steps, delta: delta, epsilon: .infinity,
                            sampling: sampling, relation: sampling == .poisson ? .addRemove : .replaceOne,
                            method: method.rawValue, accountant: "")
        switch (sampling, method) {
        case (.poisson, .pld):
            let r = PLDAccountant.epsilon(noiseMultiplier: sigma, sampleRate: q, steps: steps, delta: delta)
            result.epsilon = r?.epsilon ?? .infinity
            result.discretization = r?.discretization
            result.accountant = "PLD (Poisson-subsampled Gaussian, add/remove; pessimistic connect-the-dots discretisation, Doroshenko et al. 2022)"
        case (.poisson, .rdp):
            let orders = RDPAccountant.defaultOrders
            let one = RDPAccountant.rdpPoissonSubsampledGaussian(sampleRate: q, noiseMultiplier: sigma, orders: orders)
            let (e, order) = RDPAccountant.epsilon(orders: orders, rdp: one.map { $0 * Double(steps) }, delta: delta)
            result.epsilon = e
            result.optimalOrder = order
            result.accountant = "RDP (Poisson-subsampled Gaussian; Mironov et al. 2019; CKS 2020 Prop. 12 conversion)"
        case (.fixedSize, _):
            let orders = FixedSizeSamplingAccountant.orders
            let one = FixedSizeSamplingAccountant.rdp(sampleRate: q, noiseMultiplier: sigma, orders: orders)
            let (e, order) = RDPAccountant.epsilon(orders: orders.map(Double.init), rdp: one.map { $0 * Double(steps) }, delta: delta)
            result.epsilon = e
            result.optimalOrder = order
            result.method = Method.rdp.rawValue
            result.accountant = "RDP (fixed-size batches without replacement, replace-one, sensitivity 2 clipping norms; Wang, Balle and Kasiviswanathan 2019, Theorem 9)"
        case (.shuffle, _):
            let epochs = ShuffleAccountant.epochs(steps: steps, sampleRate: q)
            result.epsilon = ShuffleAccountant.epsilon(noiseMultiplier: sigma, epochs: epochs, delta: delta)
            result.epochs = epochs
            result.method = "gaussian-dp"
            result.accountant = "shuffled batches, no amplification claimed: one Gaussian (sensitivity 2 clipping norms, replace-one) per epoch, composed exactly (Gaussian DP, Dong, Roth and Su 2022)"
        }
        return result
    }

    /// The smallest noise multiplier (to relative precision `precision`,
    /// rounded up, so the result always meets the target) whose epsilon is
    /// at most `targetEpsilon`. Returns nil if even a noise multiplier of
    /// 1e6 does not.
    public static func smallestNoiseMultiplier(targetEpsilon: Double, sampleRate: Double, steps: Int, delta: Double,
                                               sampling: Sampling = .poisson, method: Method = .pld,
                                               precision: Double = 1e-6) -> Result? {
        precondition(targetEpsilon > 0 && precision > 0)
        func eps(_ s: Double) -> Double {
            epsilon(noiseMultiplier: s, sampleRate: sampleRate, steps: steps, delta: delta, sampling: sampling, method: method).epsilon
        }
        var hi = 1.0
        while eps(hi) > targetEpsilon { hi *= 2; if hi > 1e6 { return nil } }
        var lo = hi / 2
        while lo > 1e-3 && eps(lo) <= targetEpsilon { hi = lo; lo /= 2 }
        while hi - lo > hi * precision {
            let mid = (lo + hi) / 2
            if eps(mid) <= targetEpsilon { hi = mid } else { lo = mid }
        }
        return epsilon(noiseMultiplier: hi, sampleRate: sampleRate, steps: steps, delta: delta, sampling: sampling, method: method)
    }
}
