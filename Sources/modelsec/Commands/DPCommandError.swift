import ModelSec

/// Failures of the `dp` commands that the command itself finds (the
/// library's are ``DPError``). Each has its own code in docs/errors.md.
enum DPCommandError: ModelSecError {
    /// `dp sgd --target-epsilon`: no noise multiplier up to the search's
    /// limit reaches the target epsilon.
    case targetUnreachable(targetEpsilon: Double, delta: Double, largestMultiplier: Double)
    /// `dp sgd`: the accountant's epsilon is not finite (too little noise
    /// for the number of steps).
    case epsilonNotFinite

    var category: FailureCategory {
        switch self {
        case .targetUnreachable: return .verificationFailed
        case .epsilonNotFinite: return .invalidInput
        }
    }

    var code: String {
        switch self {
        case .targetUnreachable: return "dp.target-epsilon-unreachable"
        case .epsilonNotFinite: return "dp.epsilon-not-finite"
        }
    }

    var description: String {
        switch self {
        case let .targetUnreachable(target, delta, largest):
            return "no noise multiplier up to \(largest) reaches epsilon \(target) at delta \(delta)"
        case .epsilonNotFinite:
            return "the accountant gives no finite epsilon for these parameters (the noise is too small for the number of steps)"
        }
    }
}
