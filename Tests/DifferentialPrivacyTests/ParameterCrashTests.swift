import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Regression (issue #22, crashes): these parameters trapped (exit 132).
/// Each is now a clear exit-2 error (or, where the query is meaningful, a
/// correct release); a seeded fuzz of the parameters never crashes.
final class ParameterCrashTests: DPFileTestCase {
    func testParametersThatCrashedAreClearErrors() throws {
        let csv = try write("d.csv", "v\n0\n1\n")
        let cases: [(args: [String], status: Int32, message: String)] = [
            (["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "0,1e-320", "--epsilon", "1"], 2, "too close"),
            (["release", "--input", csv, "--column", "v", "--statistic", "count", "--epsilon", "1e-300", "--delta", "1e-300",
              "--mechanism", "gaussian"], 2, "epsilon"),
            (["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds=-1e299,1e299", "--epsilon", "1e-10"], 2, "too small"),
            (["sgd", "--noise-multiplier", "1", "--sample-rate", "0.01", "--epochs", "1e30", "--delta", "1e-5"], 2, "steps"),
            (["sgd", "--noise-multiplier", "1e-300", "--sample-rate", "0.5", "--steps", "10", "--delta", "1e-5"], 2, "finite"),
            // Bounds one ulp apart under replace-one had a zero sensitivity; now a meaningful release.
            (["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "1,1.0000000000000002", "--epsilon", "1",
              "--relation", "replace-one"], 0, "value"),
        ]
        for c in cases {
            let r = try dp(c.args)
            XCTAssertEqual(r.status, c.status, "\(c.args): \(r.stderrText)")
            XCTAssertTrue((r.stderrText + r.stdoutText).contains(c.message), "\(c.args): \(r.stderrText)")
            XCTAssertFalse(r.stderrText.contains("crashed"), r.stderrText)
        }
    }

    /// Awkward parameter strings through the command-line parser: every
    /// outcome is exit 0 or 2, never a signal.
    func testCommandLineParameterFuzz() throws {
        let csv = try write("d.csv", "v,w\n1,a\n2,b\n")
        let bounds = ["1,", ",", "nan,1", "1e400,2", "0x10,20", "1,2,3", "-inf,0", "2,1", "1,1", "-1e300,1e300", "9e299,9.0000000001e299", " 0 , 1 "]
        let epsilons = ["0", "-1", "nan", "1e400", "1e-400", "1e9", "1e10", "1e-100", "0.1"]
        var runs = 0
        var seed = SeededGenerator(seed: 77)
        for _ in 0..<60 {
            let statistic = ["sum", "mean", "variance", "quantile", "count", "histogram"].randomElement(using: &seed)!
            var args = ["release", "--input", csv, "--column", "v", "--statistic", statistic,
                        "--bounds=\(bounds.randomElement(using: &seed)!)", "--epsilon=\(epsilons.randomElement(using: &seed)!)"]
            if statistic == "quantile" { args += ["--candidates", ["0", "2", "1000001", "-5"].randomElement(using: &seed)!] }
            if statistic == "histogram" { args = args.filter { !$0.hasPrefix("--bounds") } + ["--categories", [",", "a,a", "a,b"].randomElement(using: &seed)!] }
            if Bool.random(using: &seed) { args += ["--mechanism", "gaussian", "--delta=\(["0", "1", "1e-300", "1e-9", "nan"].randomElement(using: &seed)!)"] }
            if Bool.random(using: &seed) { args += ["--invalid", ["drop", "impute=", "impute=nan", "impute=1e999", "clamp"].randomElement(using: &seed)!] }
            if Bool.random(using: &seed) { args += ["--relation", "replace-one"] }
            if Bool.random(using: &seed) { args += ["--privacy-id", "w", "--max-rows-per-id", ["0", "1", "3", "99999999999"].randomElement(using: &seed)!] }
            let r = try dp(args)
            XCTAssertTrue(r.status == 0 || r.status == 2, "\(args): status \(r.status) \(r.stderrText)")
            runs += 1
        }
        for args in [["--noise-multiplier", "1", "--sample-rate", "1e-300", "--epochs", "1"],
                     ["--noise-multiplier", "1", "--sample-rate", "1", "--steps", "9223372036854775807"],
                     ["--target-epsilon", "1e-300", "--sample-rate", "0.01", "--steps", "10"],
                     ["--noise-multiplier", "1e300", "--sample-rate", "0.01", "--steps", "10"]] {
            let r = try dp(["sgd"] + args + ["--delta", "1e-5"])
            XCTAssertTrue(r.status == 0 || r.status == 1 || r.status == 2, "\(args): status \(r.status)")
        }
        XCTAssertEqual(runs, 60)
    }

    /// Random specifications from awkward values, straight into the library:
    /// each is refused with a DPError or releases finite numbers.
    func testLibraryParameterFuzz() throws {
        let doubles: [Double] = [0, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude / 0x1p30, 2.5e-302, 1e-300, 1e-100, 1e-9, 0.5, 1, 1.0.nextUp, 3, 1e154, 3e154,
                                 9.99e299, 1e300, 1.7e308, .infinity, -.infinity, .nan, -1, -1e300, -9.99e299]
        var rng = SeededGenerator(seed: 2024)
        var accepted = 0, refused = 0
        for i in 0..<3000 {
            let a = doubles.randomElement(using: &rng)!, b = doubles.randomElement(using: &rng)!
            let statistic: Statistic = [.count, .sum, .mean, .variance, .histogram(categories: ["1", "3"]),
                                        .quantile(q: [0, 0.5, 1, -0.1, .nan].randomElement(using: &rng)!, candidates: [0, 2, 7, 1_000_001].randomElement(using: &rng)!)]
                .randomElement(using: &rng)!
            let mechanism: NoiseMechanism = Bool.random(using: &rng) ? .laplace : .gaussian
            let spec = StatisticSpec(statistic: statistic, bounds: a <= b ? a...b : nil,
                                     relation: Bool.random(using: &rng) ? .addRemove : .replaceOne, mechanism: mechanism,
                                     epsilon: [doubles.randomElement(using: &rng)!, 1, 1e9, 1e-100].randomElement(using: &rng)!,
                                     delta: mechanism == .gaussian ? [1e-300, 1e-9, 0.5, doubles.randomElement(using: &rng)!].randomElement(using: &rng)! : 0,
                                     invalid: [InvalidValueRule.clamp, .drop, .impute("3"), .impute("x")].randomElement(using: &rng)!,
                                     maxRowsPerID: [1, 1, 2, 0, 1_000_000].randomElement(using: &rng)!)
            let acc: StatisticAccumulator
            do { acc = try StatisticAccumulator(spec: spec) } catch is DPError { refused += 1; continue }
            for _ in 0..<Int.random(in: 0..<6, using: &rng) {
                if Bool.random(using: &rng) { acc.add(doubles.randomElement(using: &rng)!) } else { acc.add(field: ["1", "x", nil, "3"].randomElement(using: &rng)!) }
            }
            var noise = SeededGenerator(seed: UInt64(i))
            do {
                let r = try acc.release(using: &noise)
                let json = try JSONSerialization.jsonObject(with: Data(try r.canonicalBytes()))
                XCTAssertTrue(UnprovenArithmeticTests.allFinite(json), "\(spec)")
                accepted += 1
            } catch is DPError {
                XCTAssertEqual(spec.relation, .replaceOne, "only an empty replace-one mean or variance may fail: \(spec)")
            }
        }
        XCTAssertGreaterThan(accepted, 200)
        XCTAssertGreaterThan(refused, 200)
        // The accountants on awkward inputs.
        for e in doubles where e > 0 && e.isFinite && e <= 1e9 {
            for d in [1e-300, 1e-9, 0.5] {
                let rho = ZCDP.rho(epsilon: e, delta: d)
                XCTAssertTrue(rho.isFinite && rho >= 0)
                if rho > 0 { XCTAssertLessThanOrEqual(ZCDP.epsilon(rho: rho, delta: d), e * (1 + 1e-9)) }
            }
        }
    }
}
