import ArgumentParser
import ModelSec

/// `modelsec dp sgd`: DP-SGD privacy accounting.
struct DPSGDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgd",
        abstract: "Epsilon of DP-SGD training, or the smallest noise multiplier for a target epsilon.",
        discussion: """
        --sampling poisson (default): each example joins each batch with \
        probability Q; add/remove relation; --accountant pld (default: privacy \
        loss distributions, matching dp_accounting's PLDAccountant) or rdp \
        (Rényi DP, matching its RdpAccountant). --sampling fixed-size: batches of \
        exactly Q*N examples drawn without replacement; replace-one relation; \
        Rényi bound of Wang, Balle and Kasiviswanathan (2019, Theorem 9). \
        --sampling shuffle: a random permutation per epoch cut into batches; \
        replace-one; no amplification is claimed (one Gaussian per epoch, \
        composed exactly). Under replace-one the sensitivity is two clipping \
        norms. --epochs E means ceil(E / Q) steps. See docs/privacy.md.

        Examples:
          modelsec dp sgd --noise-multiplier 1.1 --sample-rate 0.004266 \\
              --epochs 60 --delta 1e-5
          modelsec dp sgd --noise-multiplier 1.1 --sample-rate 0.004266 \\
              --epochs 60 --delta 1e-5 --accountant rdp
          modelsec dp sgd --noise-multiplier 2 --sample-rate 0.01 \\
              --steps 5000 --delta 1e-5 --sampling fixed-size
          modelsec dp sgd --target-epsilon 3 --sample-rate 0.01 \\
              --steps 10000 --delta 1e-5 --json
        """
    )

    @Option(name: .customLong("noise-multiplier"), parsing: .unconditional, help: ArgumentHelp("Noise standard deviation / clipping norm.", valueName: "S"))
    var noiseMultiplier: Double?

    @Option(name: .customLong("target-epsilon"), parsing: .unconditional, help: ArgumentHelp("Find the smallest noise multiplier reaching this epsilon.", valueName: "E"))
    var targetEpsilon: Double?

    @Option(name: .customLong("sample-rate"), parsing: .unconditional, help: ArgumentHelp("Sampling rate q: the expected (Poisson) or exact (fixed-size, shuffle) batch size / dataset size.", valueName: "Q"))
    var sampleRate: Double

    @Option(help: ArgumentHelp("Number of training steps.", valueName: "N"))
    var steps: Int?

    @Option(help: ArgumentHelp("Number of epochs (steps = ceil(E / Q)).", valueName: "E"))
    var epochs: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Target delta.", valueName: "D"))
    var delta: Double

    @Option(help: "Accountant for Poisson sampling: pld (default) or rdp.")
    var accountant: DPSGDAccountant.Method?

    @Option(help: "How batches are formed: poisson (default), fixed-size or shuffle.")
    var sampling: DPSGDAccountant.Sampling = .poisson

    @OptionGroup var json: JSONOption

    func validate() throws {
        if (noiseMultiplier == nil) == (targetEpsilon == nil) { throw ValidationError("give exactly one of --noise-multiplier or --target-epsilon") }
        if accountant != nil && sampling != .poisson { throw ValidationError("--accountant applies to --sampling poisson (fixed-size and shuffle have one accountant each)") }
        if (steps == nil) == (epochs == nil) { throw ValidationError("give exactly one of --steps or --epochs") }
        guard sampleRate.isFinite, sampleRate > 0, sampleRate <= 1 else { throw ValidationError("--sample-rate must be in (0, 1]") }
        guard delta.isFinite, delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
        if let steps, !(1...DPSGDAccountant.maxSteps).contains(steps) { throw ValidationError("--steps must be in 1...\(DPSGDAccountant.maxSteps)") }
        if let epochs {
            guard epochs.isFinite, epochs > 0 else { throw ValidationError("--epochs must be positive") }
            do { _ = try DPSGDAccountant.steps(epochs: epochs, sampleRate: sampleRate) } catch let error as DPError {
                throw ValidationError("--epochs \(epochs) at --sample-rate \(sampleRate): \(error.description)")
            }
        }
        if let noiseMultiplier, !(noiseMultiplier.isFinite && noiseMultiplier > 0) { throw ValidationError("--noise-multiplier must be positive") }
        if let targetEpsilon, !(targetEpsilon.isFinite && targetEpsilon > 0) { throw ValidationError("--target-epsilon must be positive") }
    }

    func run() throws {
        let n = try steps ?? DPSGDAccountant.steps(epochs: epochs!, sampleRate: sampleRate)
        let result: DPSGDAccountant.Result
        if let noiseMultiplier {
            result = DPSGDAccountant.epsilon(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: n, delta: delta,
                                             sampling: sampling, method: accountant ?? .pld)
        } else {
            guard let r = DPSGDAccountant.smallestNoiseMultiplier(targetEpsilon: targetEpsilon!, sampleRate: sampleRate, steps: n, delta: delta,
                                                                   sampling: sampling, method: accountant ?? .pld,
                                                                   precision: sampling == .poisson && (accountant ?? .pld) == .pld ? 1e-4 : 1e-6) else {
                throw DPCommandError.targetUnreachable(targetEpsilon: targetEpsilon!, delta: delta, largestMultiplier: 1e6)
            }
            result = r
        }
        guard result.epsilon.isFinite else {
            throw DPCommandError.epsilonNotFinite
        }
        if json.isOn { try CLI.printResult(result); return }
        if targetEpsilon != nil {
            print("noise multiplier: \(result.noiseMultiplier)")
            print("epsilon:          \(result.epsilon) (target \(targetEpsilon!))")
        } else {
            print("epsilon:          \(result.epsilon)")
        }
        print("delta:            \(result.delta)")
        print("steps:            \(result.steps) at sample rate \(result.sampleRate)")
        print("accountant:       \(result.accountant)")
        print("relation:         \(result.relation.rawValue)")
        if let order = result.optimalOrder { print("optimal order:    \(order)") }
        if let h = result.discretization { print("discretisation:   \(h)") }
        if let e = result.epochs { print("epochs charged:   \(e)") }
        if result.epsilon == 0 {
            // Not a rounding accident: the accountant found delta alone covers the loss.
            CLI.info("epsilon 0: at this noise, delta \(result.delta) alone bounds the privacy loss ((0, delta)-DP)")
        }
    }
}

extension DPSGDAccountant.Method: ExpressibleByArgument {}
extension DPSGDAccountant.Sampling: ExpressibleByArgument {}
