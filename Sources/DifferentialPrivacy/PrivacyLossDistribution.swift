import Foundation

/// A discrete privacy loss distribution (PLD): probability masses on the
/// losses `(lowerIndex + i) * discretization` plus a mass at +infinity.
///
/// For a pair of output distributions (P, Q) its hockey-stick curve is
/// delta(epsilon) = infinityMass + sum_i p_i (1 - e^{epsilon - loss_i})_+, and
/// the pair is (epsilon, delta(epsilon))-indistinguishable. The PLD of a
/// composition is the convolution of the PLDs (Sommer, Meiser and
/// Mohammadi 2019; Koskela et al. 2020). ``connectTheDots(discretization:lowerIndex:deltas:)``
/// builds a PLD that *dominates* a mechanism from its exact hockey-stick
/// values on the grid, so every epsilon computed from it (and from its
/// compositions) is an upper bound. See docs/privacy.md, section 3.
struct PrivacyLossDistribution {
    /// Grid spacing of the losses.
    var discretization: Double
    /// Loss of `probabilities[0]`, in units of `discretization`.
    var lowerIndex: Int
    /// Masses on consecutive grid losses.
    var probabilities: [Double]
    /// Mass at +infinity (outputs only P can produce, or truncated tails).
    var infinityMass: Double

    /// The largest grid a PLD may use (more is refused by the callers,
    /// which then coarsen the discretisation).
    static let maxPoints = 1 << 22

    /// Pessimistic connect-the-dots discretisation (Doroshenko, Ghazi,
    /// Kamath, Kumar and Manurangsi 2022, Algorithm 1). `deltas[i]` is the
    /// mechanism's exact hockey-stick divergence at epsilon_i =
    /// (lowerIndex + i) h. The hockey-stick curve of any pair is convex in
    /// e^epsilon, so the PLD whose curve interpolates these points linearly in
    /// e^epsilon lies above it everywhere on [epsilon_0, epsilon_n]; the mass
    /// below epsilon_0 is placed at epsilon_0 and the mass above epsilon_n at
    /// +infinity (delta_n), both pessimistic. Mass at epsilon_i:
    /// (delta_i - delta_{i-1})/(e^{eps_{i-1} - eps_i} - 1) + (delta_{i+1} - delta_i)/(e^{eps_{i+1} - eps_i} - 1),
    /// with delta_{-1} read as 1 (so the first term is 1 - delta_0).
    static func connectTheDots(discretization h: Double, lowerIndex: Int, deltas raw: [Double]) -> PrivacyLossDistribution {
        precondition(!raw.isEmpty && h > 0)
        // Hockey-stick values never increase; enforce it against rounding.
        var deltas = raw
        for i in deltas.indices {
            deltas[i] = min(max(deltas[i], 0), 1)
            if i > 0 { deltas[i] = min(deltas[i], deltas[i - 1]) }
        }
        let down = expm1(-h), up = expm1(h)
        var p = [Double](repeating: 0, count: deltas.count)
        for i in deltas.indices {
            let fromBelow = i == 0 ? 1 - deltas[0] : (deltas[i] - deltas[i - 1]) / down
            let fromAbove = i + 1 < deltas.count ? (deltas[i + 1] - deltas[i]) / up : 0
            p[i] = max(0, fromBelow + fromAbove)
        }
        return PrivacyLossDistribution(discretization: h, lowerIndex: lowerIndex, probabilities: p, infinityMass: deltas.last!)
    }

    /// The smallest epsilon with delta(epsilon) <= `delta` (+infinity when
    /// the mass at infinity alone exceeds it; never below 0). Between grid
    /// points the curve is A - e^epsilon B, solved exactly.
    func epsilon(delta target: Double) -> Double {
        if infinityMass > target { return .infinity }
        let h = discretization
        // Scanning down: a = infinity mass + sum_{j >= m} p_j, b = sum_{j >= m} p_j e^{loss_m - loss_j};
        // for epsilon <= loss_m (down to the previous grid point), delta(epsilon) = a - e^{epsilon - loss_m} b.
        var a = infinityMass, b = 0.0
        let decay = exp(-h)
        var m = probabilities.count - 1
        while m >= 0 {
            a += probabilities[m]
            b = probabilities[m] + decay * b
            let loss = Double(lowerIndex + m) * h
            let atPrevious = a - exp(-h) * b   // delta at loss_m - h
            if atPrevious > target || m == 0 {
                guard b > 0 else { return max(0, loss) }
                let ratio = (a - target) / b
                if ratio <= 0 { return 0 }
                return max(0, loss + log(ratio))
            }
            m -= 1
        }
        return 0
    }

    /// delta at `epsilon` (the hockey-stick divergence of the discrete pair).
    func delta(epsilon: Double) -> Double {
        var d = infinityMass
        for (i, p) in probabilities.enumerated() where p > 0 {
            let loss = Double(lowerIndex + i) * discretization
            if loss > epsilon { d += p * -expm1(epsilon - loss) }
        }
        return min(1, d)
    }

    /// The PLD of `count` compositions of this one, by one forward FFT,
    /// a pointwise power and one inverse FFT (as `dp_accounting` does).
    ///
    /// The result is kept on the window of composed losses that Chernoff
    /// bounds (taken at many orders) show to hold all but `tailBound` of
    /// the mass; the FFT length covers that window, so mass outside it can
    /// only alias into it (never be lost), and `tailBound` is added to the
    /// mass at infinity, which makes the result dominate the exact
    /// composition: delta_true <= delta_window + mass outside <= delta computed.
    /// Returns nil when the window would exceed ``maxPoints``.
    func selfComposed(_ count: Int, tailBound: Double = 1e-15) -> PrivacyLossDistribution? {
        precondition(count >= 1)
        if count == 1 { return self }
        let n = probabilities.count
        let k = Double(count)
        let finite = 1 - infinityMass
        // Composed infinity mass: 1 - (1 - m)^k.
        let composedInfinity = -expm1(k * log1p(-infinityMass))
        guard finite > 0, n > 0 else {
            return PrivacyLossDistribution(discretization: discretization, lowerIndex: lowerIndex * count, probabilities: [0], infinityMass: 1)
        }
        // Chernoff window on the shifted index s = sum of per-step indices in 0..<n.
        let logP = probabilities.map { $0 > 0 ? log($0) : -Double.infinity }
        func logMGF(_ t: Double) -> Double {
            var m = -Double.infinity
            for i in 0..<n where logP[i] > -.infinity { m = max(m, logP[i] + t * Double(i)) }
            var s = 0.0
            for i in 0..<n where logP[i] > -.infinity { s += exp(logP[i] + t * Double(i) - m) }
            return m + log(s)
        }
        var lo = 0.0, hi = k * Double(n - 1)
        let logTail = log(2 / tailBound)
        for j in -12...12 {
            let t = pow(2, Double(j)) / Double(n)
            let up = (k * logMGF(t) + logTail) / t
            if up.isFinite { hi = min(hi, up.rounded(.up)) }
            let down = (k * logMGF(-t) + logTail) / -t
            if down.isFinite { lo = max(lo, down.rounded(.down)) }
        }
        guard hi >= lo, hi - lo + 1 <= Double(Self.maxPoints) else { return nil }
        let low = Int(lo), width = Int(hi) - low + 1
        let size = FFT.size(atLeast: max(width, n))
        var re = [Double](repeating: 0, count: size), im = [Double](repeating: 0, count: size)
        for i in 0..<n { re[i] = probabilities[i] }
        FFT.transform(re: &re, im: &im, inverse: false)
        for i in 0..<size {
            let r = (re[i] * re[i] + im[i] * im[i]).squareRoot()
            if r == 0 { re[i] = 0; im[i] = 0; continue }
            let theta = atan2(im[i], re[i])
            let magnitude = exp(k * log(r))
            let angle = (theta * k).truncatingRemainder(dividingBy: 2 * Double.pi)
            re[i] = magnitude * cos(angle)
            im[i] = magnitude * sin(angle)
        }
        FFT.transform(re: &re, im: &im, inverse: true)
        var out = [Double](repeating: 0, count: width)
        for s in 0..<width { out[s] = max(0, re[(low + s) % size]) }
        return PrivacyLossDistribution(discretization: discretization, lowerIndex: lowerIndex * count + low,
                                       probabilities: out, infinityMass: min(1, composedInfinity + tailBound))
    }
}
