// bench-dp: adds discrete Gaussian noise (exact CKS sampler, OS CSPRNG) to a
// vector of integers and prints the best wall-clock seconds of several runs.
// Usage: bench-dp [count] [sigma2] [runs]
import ModelSec
import Foundation

let args = CommandLine.arguments
let count = args.count > 1 ? Int(args[1])! : 1_000_000
let sigma2 = args.count > 2 ? Rational(decimal: args[2])! : Rational(100)
let runs = args.count > 3 ? Int(args[3])! : 5

var best = Double.infinity
var checksum: Int64 = 0
for _ in 0..<runs {
    var values = (0..<count).map { Int64($0 % 1000) }
    let start = DispatchTime.now().uptimeNanoseconds
    ExactSamplers.addDiscreteGaussianNoise(to: &values, sigma2: sigma2)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    best = min(best, seconds)
    checksum &+= values.reduce(0, &+)
}
print(String(format: "%.6f", best))
FileHandle.standardError.write(Data("bench-dp: \(count) values, sigma^2 = \(sigma2), best of \(runs): \(best) s (checksum \(checksum))\n".utf8))
