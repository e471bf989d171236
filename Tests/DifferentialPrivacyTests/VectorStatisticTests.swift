import BigInt
import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Clipped vector sums and covariance matrices of several columns.
final class VectorStatisticTests: DPFileTestCase {
    /// Regression (clipping trusted floating point): every row's integer
    /// vector has squared norm at most M, checked exactly, for extreme inputs.
    func testClippedVectorsNeverExceedTheBound() throws {
        var rng = SeededGenerator(seed: 11)
        for clip in [1.0, 0.1, 3.7, 1e-30, 1e30] {
            let acc = try VectorAccumulator(kind: .vectorSum, dimension: 4, clipNorm: clip, epsilon: 1, delta: 1e-6)
            let bound = acc.squaredNormBound
            XCTAssertGreaterThanOrEqual(bound, BigInt(1) << 40)
            XCTAssertLessThan(bound, BigInt(1) << 42)
            var fields: [[String?]] = [["1e308", "-1e308", "inf", "1e300"], ["0", "0", "0", "0"], ["1", "x", "2", "3"], ["nan", "1", "1", "1"]]
            for _ in 0..<300 {
                fields.append((0..<4).map { _ in
                    let scale = pow(10, Double(Int(rng.next() % 80) - 40))
                    return "\((Double(rng.next() % 2_000_001) - 1_000_000) / 1_000_000 * scale * clip)"
                })
            }
            for f in fields {
                let c = acc.integerVector(f)
                let norm2 = c.reduce(BigInt(0)) { $0 + BigInt($1) * BigInt($1) }
                XCTAssertLessThanOrEqual(norm2, bound, "\(f) at clip \(clip)")
            }
            XCTAssertEqual(acc.integerVector(["1", "x", "2", "3"]), [0, 0, 0, 0], "an invalid value makes the zero vector")
        }
    }

    /// Sensitivities: M (add/remove), 4M (replace-one), K^2 M (K rows per
    /// person); covariance adds the count (1) and the products (M^2).
    func testSensitivities() throws {
        func components(_ kind: VectorAccumulator.Kind, _ relation: NeighbouringRelation, _ k: Int) throws -> ([String], BigInt) {
            let acc = try VectorAccumulator(kind: kind, dimension: 3, clipNorm: 2, epsilon: 1, delta: 1e-6, relation: relation, maxRowsPerID: k)
            var rng = SeededGenerator(seed: 1)
            return (acc.release(columns: ["a", "b", "c"], using: &rng).components.map(\.squaredSensitivity), acc.squaredNormBound)
        }
        var (c, m) = try components(.vectorSum, .addRemove, 1)
        XCTAssertEqual(c, [m.description])
        (c, m) = try components(.vectorSum, .replaceOne, 1)
        XCTAssertEqual(c, [(4 * m).description])
        (c, m) = try components(.vectorSum, .addRemove, 3)
        XCTAssertEqual(c, [(9 * m).description])
        (c, m) = try components(.covariance, .addRemove, 1)
        XCTAssertEqual(c, ["1", m.description, (m * m).description])
        (c, m) = try components(.covariance, .replaceOne, 1)
        XCTAssertEqual(c, [(4 * m).description, (4 * m * m).description])
        XCTAssertThrowsError(try VectorAccumulator(kind: .covariance, dimension: 1, clipNorm: 1, epsilon: 1, delta: 1e-6))
        XCTAssertThrowsError(try VectorAccumulator(kind: .vectorSum, dimension: 2, clipNorm: 1, epsilon: 1, delta: 0))
        XCTAssertThrowsError(try VectorAccumulator(kind: .vectorSum, dimension: 2, clipNorm: .infinity, epsilon: 1, delta: 1e-6))
    }

    /// Utility at a huge epsilon: the clipped sum and the covariance are
    /// recovered (clipping included).
    func testUtilityAtHugeEpsilon() throws {
        let rows = (0..<1000).map { i in "\(i % 10),\(-(i % 10)),\(i % 2)" }
        let csv = try write("v.csv", "x,y,z\n" + rows.joined(separator: "\n") + "\n")
        var rng = SeededGenerator(seed: 5)
        let sum = try VectorAccumulator(kind: .vectorSum, dimension: 2, clipNorm: 100, epsilon: 1e8, delta: 1e-6)
            .release(path: csv, columns: ["x", "y"], using: &rng)
        XCTAssertEqual(sum.vector![0], 4500, accuracy: 0.01)
        XCTAssertEqual(sum.vector![1], -4500, accuracy: 0.01)
        // Clipped to norm 1: each nonzero row (x, -x) becomes (1/sqrt2, -1/sqrt2); 900 of them.
        let clipped = try VectorAccumulator(kind: .vectorSum, dimension: 2, clipNorm: 1, epsilon: 1e8, delta: 1e-6)
            .release(path: csv, columns: ["x", "y"], using: &rng)
        XCTAssertEqual(clipped.vector![0], 900 / 2.0.squareRoot(), accuracy: 0.01)
        let cov = try VectorAccumulator(kind: .covariance, dimension: 3, clipNorm: 100, epsilon: 1e8, delta: 1e-6)
            .release(path: csv, columns: ["x", "y", "z"], using: &rng)
        let m = try XCTUnwrap(cov.matrix)
        // x takes 0..9 uniformly: variance 8.25; y = -x; z = x mod 2: cov(x, z) = 0.25, var(z) = 0.25.
        XCTAssertEqual(m[0][0], 8.25, accuracy: 0.01)
        XCTAssertEqual(m[0][1], -8.25, accuracy: 0.01)
        XCTAssertEqual(m[1][0], m[0][1])
        XCTAssertEqual(m[0][2], 0.25, accuracy: 0.01)
        XCTAssertEqual(m[2][2], 0.25, accuracy: 0.01)
        XCTAssertEqual(cov.recordCount!, 1000, accuracy: 0.5)
    }

    /// The command line: --columns, --clip-norm, JSON, the ledger charge in rho.
    func testCommandLine() throws {
        let csv = try write("v.csv", "a,b\n" + (0..<100).map { "\($0 % 3),1" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "1", "--delta", "1e-5"]).status, 0)
        let r = try dp(["release", "--input", csv, "--statistic", "vector-sum", "--columns", "a,b", "--clip-norm", "3",
                        "--epsilon", "0.5", "--delta", "1e-6", "--ledger", db, "--dataset", "d", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let release = try JSONDecoder().decode(VectorAccumulator.Release.self, from: r.stdout)
        XCTAssertEqual(release.vector?.count, 2)
        XCTAssertNotNil(release.cost.rho)
        let charges = try self.charges(db, "d")
        XCTAssertEqual(charges.map(\.mechanism), ["discrete-gaussian"])
        XCTAssertNotNil(charges[0].cost.rho)
        XCTAssertEqual(try dp(["release", "--input", csv, "--statistic", "covariance", "--columns", "a,b", "--clip-norm", "3",
                               "--epsilon", "0.5", "--delta", "1e-6"]).status, 0)
        for bad in [["--statistic", "vector-sum", "--columns", "a,b", "--epsilon", "1", "--delta", "1e-6"],
                    ["--statistic", "vector-sum", "--columns", "a,b", "--clip-norm", "1", "--epsilon", "1"],
                    ["--statistic", "vector-sum", "--columns", "a,b", "--clip-norm", "1", "--epsilon", "1", "--delta", "1e-6", "--mechanism", "laplace"],
                    ["--statistic", "covariance", "--columns", "a", "--clip-norm", "1", "--epsilon", "1", "--delta", "1e-6"],
                    ["--statistic", "sum", "--columns", "a,b", "--bounds", "0,1", "--epsilon", "1"]] {
            XCTAssertEqual(try dp(["release", "--input", csv] + bad).status, 2, "\(bad)")
        }
    }
}
