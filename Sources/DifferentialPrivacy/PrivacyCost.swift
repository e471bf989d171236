/// A privacy guarantee: (epsilon, delta)-differential privacy, optionally
/// also stated as rho-zero-concentrated DP (zCDP).
public struct PrivacyCost: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The epsilon of (epsilon, delta)-DP.
    public var epsilon: Double
    /// The delta of (epsilon, delta)-DP (0 for pure DP).
    public var delta: Double
    /// rho of rho-zCDP when the mechanism is a Gaussian one (nil otherwise).
    public var rho: Double?

    /// A cost; epsilon and delta must be finite and non-negative.
    public init(epsilon: Double, delta: Double = 0, rho: Double? = nil) {
        self.epsilon = epsilon
        self.delta = delta
        self.rho = rho
    }

    /// `epsilon=…, delta=…, rho=… (zCDP)`.
    public var description: String {
        var s = "epsilon=\(epsilon)"
        if delta > 0 { s += ", delta=\(delta)" }
        if let rho { s += ", rho=\(rho) (zCDP)" }
        return s
    }
}
