import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// `--bounds auto`: clamping bounds chosen by a DP histogram over
/// power-of-two bins, charged as their own ledger line.
final class PrivateBoundsTests: DPFileTestCase {
    func testBinsAndEdges() {
        XCTAssertEqual(ApproxBounds.binCount, 193)
        XCTAssertEqual(ApproxBounds.bin(of: 0), 0)
        XCTAssertEqual(ApproxBounds.bin(of: 3), 34)
        XCTAssertTrue(ApproxBounds.edges(of: 34) == (2, 4))
        XCTAssertEqual(ApproxBounds.bin(of: -3), -34)
        XCTAssertTrue(ApproxBounds.edges(of: -34) == (-4, -2))
        XCTAssertEqual(ApproxBounds.bin(of: 4), 35, "edges belong to the bin above")
        XCTAssertEqual(ApproxBounds.bin(of: 1e30), 96)
        XCTAssertEqual(ApproxBounds.bin(of: -.infinity), -96)
        XCTAssertNil(ApproxBounds.bin(of: .nan))
        for x in [1e-12, 0.3, 1, 7.5, 1e10, -2.5, -1e5] {
            let e = ApproxBounds.edges(of: ApproxBounds.bin(of: x)!)
            XCTAssertTrue(e.lower <= x && x <= e.upper, "\(x) in \(e)")
        }
    }

    /// At a huge epsilon the noise vanishes: the bounds are the edges of
    /// the lowest and highest occupied bins.
    func testSelectionAtHugeEpsilon() throws {
        var selector = try ApproxBounds(epsilon: 1e6, maxRowsPerID: 1, relation: .addRemove)
        XCTAssertEqual(selector.threshold, 1)
        for v in stride(from: 3.0, through: 900, by: 1) { selector.add(field: "\(v)") }
        selector.add(field: "not a number")
        var rng = SeededGenerator(seed: 3)
        XCTAssertEqual(selector.select(using: &rng), 2...1024)
        // No data at all: the fallback is the bin with the largest noisy count, never a failure.
        let empty = try ApproxBounds(epsilon: 1e6, maxRowsPerID: 1, relation: .addRemove)
        let b = empty.select(using: &rng)
        XCTAssertLessThan(b.lowerBound, b.upperBound)
    }

    /// The threshold keeps empty bins out: at epsilon 0.5 none of 193 empty
    /// bins may pass in more than about 1% of selections (checked over 400
    /// selections of a histogram with one occupied bin).
    func testEmptyBinsRarelyPass() throws {
        var selector = try ApproxBounds(epsilon: 0.5, maxRowsPerID: 1, relation: .addRemove)
        for _ in 0..<2000 { selector.add(field: "100") }   // bin [64, 128)
        var rng = SeededGenerator(seed: 7)
        var wrong = 0
        for _ in 0..<400 where selector.select(using: &rng) != 64...128 { wrong += 1 }
        XCTAssertLessThanOrEqual(wrong, 12, "false-positive bound 1% per selection")
        // Sensitivity: K rows per person (and replace-one) raise the threshold.
        let k = try ApproxBounds(epsilon: 0.5, maxRowsPerID: 3, relation: .addRemove)
        let r = try ApproxBounds(epsilon: 0.5, maxRowsPerID: 1, relation: .replaceOne)
        XCTAssertGreaterThan(k.threshold, selector.threshold * 2)
        XCTAssertGreaterThan(r.threshold, selector.threshold)
    }

    /// The CLI charges the bounds as their own line, before reading, and
    /// releases with the chosen bounds.
    func testAutoBoundsChargeTheirOwnLedgerLine() throws {
        let csv = try write("d.csv", "v\n" + (10...500).map { "\($0)" }.joined(separator: "\n") + "\n")
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "2e6"]).status, 0)
        let r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "mean", "--bounds", "auto", "--epsilon", "1e6",
                        "--ledger", db, "--dataset", "d", "--json"])
        XCTAssertEqual(r.status, 0, r.stderrText)
        let release = try JSONDecoder().decode(DPRelease.self, from: r.stdout)
        let selection = try XCTUnwrap(release.boundsSelection)
        XCTAssertEqual(selection.epsilon, 250000)
        XCTAssertEqual([selection.lower, selection.upper], [8, 512])
        XCTAssertEqual(release.bounds, [8, 512])
        XCTAssertEqual(release.value!, 255, accuracy: 0.01)
        XCTAssertEqual(release.cost.epsilon, 750000)
        let charges = try self.charges(db, "d")
        XCTAssertEqual(charges.map(\.mechanism), ["approx-bounds", "discrete-laplace"])
        XCTAssertEqual(charges.map(\.cost.epsilon), [250000, 750000])
        XCTAssertEqual(charges.map(\.outcome), [.released, .released])
        XCTAssertEqual(charges[0].dataSHA256, charges[1].dataSHA256)
        // Refused together: a budget that holds the bounds but not the statistic charges neither.
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "e", "--set-total", "0.5"]).status, 0)
        let refused = try dp(["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds", "auto", "--epsilon", "1",
                              "--ledger", db, "--dataset", "e"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(try self.charges(db, "e").count, 0)
        XCTAssertEqual(try dp(["release", "--input", csv, "--column", "v", "--statistic", "count", "--bounds", "auto", "--epsilon", "1"]).status, 2)
        XCTAssertEqual(try dp(["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds", "0,1", "--bounds-share", "0.5", "--epsilon", "1"]).status, 2)
    }
}
