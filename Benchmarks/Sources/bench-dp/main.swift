// bench-dp: library-level differential-privacy benchmarks.
// Usage:
//   bench-dp [count] [sigma2] [runs]   discrete Gaussian noise on a vector of integers
//                                      (exact CKS sampler, OS CSPRNG): best wall-clock seconds
//   bench-dp pld                       the DP-SGD PLD accountant on the MNIST setting:
//                                      "best-seconds epsilon" (best of 3)
import ModelSec
import Foundation

let args = CommandLine.arguments

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

if args.count > 1 && args[1] == "pld" {
    var best = Double.infinity, epsilon = 0.0
    for _ in 0..<3 {
        best = min(best, seconds {
            epsilon = DPSGDAccountant.epsilon(noiseMultiplier: 1.1, sampleRate: 256.0 / 60000, steps: 14063, delta: 1e-5).epsilon
        })
    }
    print(String(format: "%.6f %.6f", best, epsilon))
    exit(0)
}

let count = args.count > 1 ? Int(args[1])! : 1_000_000
let sigma2 = args.count > 2 ? Rational(decimal: args[2])! : Rational(100)
let runs = args.count > 3 ? Int(args[3])! : 5

var best = Double.infinity
var checksum: Int64 = 0
for _ in 0..<runs {
    var values = (0..<count).map { Int64($0 % 1000) }
    best = min(best, seconds { ExactSamplers.addDiscreteGaussianNoise(to: &values, sigma2: sigma2) })
    checksum &+= values.reduce(0, &+)
}
print(String(format: "%.6f", best))
FileHandle.standardError.write(Data("bench-dp: \(count) values, sigma^2 = \(sigma2), best of \(runs): \(best) s (checksum \(checksum))\n".utf8))
