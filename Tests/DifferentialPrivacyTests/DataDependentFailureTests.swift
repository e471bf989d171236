import DifferentialPrivacy
import Foundation
import TestSupport
import XCTest

/// Regression (issue #22, leak 2): a single record could flip a release
/// from exit 0 to exit 2 (a text cell, `1e400`, a short row), uncharged,
/// and the error echoed the cell. Invalid values now follow a declared,
/// data-independent rule row by row; no error shows a cell; what can still
/// fail after the data is read is charged.
final class DataDependentFailureTests: DPFileTestCase {
    static let secret = "SSN-123-45-6789 patient Jane Doe HIV+ positive"

    /// Records that used to stop a release, each added to a clean dataset.
    static let poison: [(String, String)] = [
        ("text cell", "\(secret),x"),
        ("huge number", "1e400,x"),
        ("huge negative number", "-1e400,x"),
        ("infinity", "inf,x"),
        ("nan", "NaN,x"),
        ("empty value", ",x"),
        ("short row", "5"),
        ("long row", "5,x,extra"),
        ("stray quote", "5\"5,x"),
        ("text after a closing quote", "\"5\"5,x"),
        ("hexadecimal float", "0x1p3,x"),
    ]

    static let runs: [[String]] = [
        ["--statistic", "count", "--epsilon", "1"],
        ["--statistic", "sum", "--bounds", "0,10", "--epsilon", "1"],
        ["--statistic", "mean", "--bounds", "0,10", "--epsilon", "1"],
        ["--statistic", "mean", "--bounds", "0,10", "--epsilon", "1", "--relation", "replace-one"],
        ["--statistic", "variance", "--bounds", "0,10", "--epsilon", "1", "--mechanism", "gaussian", "--delta", "1e-6"],
        ["--statistic", "quantile", "--bounds", "0,10", "--epsilon", "1"],
        ["--statistic", "histogram", "--categories", "1,2,3", "--epsilon", "1"],
    ]

    func testOneRecordCannotFlipTheExitStatus() throws {
        let clean = "v,w\n" + (0..<30).map { "\($0 % 7),y" }.joined(separator: "\n") + "\n"
        for (name, row) in Self.poison {
            let csv = try write("p.csv", clean + row + "\n")
            for args in Self.runs {
                let r = try dp(["release", "--input", csv, "--column", "v", "--json"] + args)
                XCTAssertEqual(r.status, 0, "\(name) with \(args): \(r.stderrText)")
                XCTAssertNoThrow(try JSONDecoder().decode(DPRelease.self, from: r.stdout), name)
            }
        }
        // Invalid UTF-8 and an over-long field, too.
        var bytes = Data(clean.utf8)
        bytes.append(contentsOf: [0xC3, 0x28, 0x2C, 0x78, 0x0A])
        bytes.append(Data(String(repeating: "7", count: CSVReader.maxFieldBytes + 10).utf8))
        bytes.append(Data(",x\n".utf8))
        let csv = try write("bytes.csv", bytes)
        for args in Self.runs {
            XCTAssertEqual(try dp(["release", "--input", csv, "--column", "v"] + args).status, 0, "\(args)")
        }
    }

    func testErrorsAndOutputsNeverShowCellContents() throws {
        let csv = try write("s.csv", "v,w\n1,a\n\(Self.secret),b\n\"unterminated \(Self.secret)\n")
        for args in Self.runs {
            let r = try dp(["release", "--input", csv, "--column", "v"] + args)
            XCTAssertEqual(r.status, 2, "the unterminated quote stops the release")
            for fragment in ["SSN", "Jane", "HIV", "unterminated"] {
                XCTAssertFalse(r.stderrText.contains(fragment) || r.stdoutText.contains(fragment), "\(args): \(r.stderrText)")
            }
        }
        let ok = try write("ok.csv", "v,w\n1,a\n\(Self.secret),b\n")
        let r = try dp(["release", "--input", ok, "--column", "v", "--statistic", "mean", "--bounds", "0,9", "--epsilon", "1"])
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.stdoutText.contains("SSN") || r.stderrText.contains("SSN"))
    }

    /// Each rule, applied row by row, at an epsilon where the noise is
    /// negligible: clamp makes a non-number the lower bound and 1e400 the
    /// upper bound; drop leaves the row out; impute puts the value in.
    func testTheInvalidValueRuleIsAppliedRowByRow() throws {
        func released(_ spec: StatisticSpec, _ fields: [String?]) throws -> DPRelease {
            let acc = try StatisticAccumulator(spec: spec)
            for f in fields { acc.add(field: f) }
            var rng = SeededGenerator(seed: 9)
            return try acc.release(using: &rng)
        }
        let fields: [String?] = ["4", "oops", nil, "1e400", "-inf", " 6 ", "NaN"]
        func sum(_ rule: InvalidValueRule) throws -> Double {
            try released(StatisticSpec(statistic: .sum, bounds: 2...10, epsilon: 1e6, invalid: rule), fields).value!
        }
        // clamp: 4 + 2 + 2 + 10 + 2 + 6 + 2
        XCTAssertEqual(try sum(.clamp), 28, accuracy: 1e-3)
        // drop: 4 + 10 + 2 + 6 (1e400 and -inf are numbers, clamped)
        XCTAssertEqual(try sum(.drop), 22, accuracy: 1e-3)
        // impute=5: 4 + 5 + 5 + 10 + 2 + 6 + 5; an imputed value is clamped too
        XCTAssertEqual(try sum(.impute("5")), 37, accuracy: 1e-3)
        XCTAssertEqual(try sum(.impute("1e9")), 4 + 10 + 10 + 10 + 2 + 6 + 10, accuracy: 1e-3)
        let count = { (rule: InvalidValueRule) in try released(StatisticSpec(statistic: .count, epsilon: 1e6, invalid: rule), fields).value! }
        XCTAssertEqual(try count(.clamp), 7)
        XCTAssertEqual(try count(.drop), 6, "only the missing field is invalid for a count")
        let histogram = try released(StatisticSpec(statistic: .histogram(categories: ["4", "other"]), epsilon: 1e6, invalid: .impute("other")), fields)
        XCTAssertEqual(histogram.histogram!.map(\.count), [1, 1])
        XCTAssertEqual(histogram.invalidValueRule, "impute=other")
        // drop changes n, which replace-one treats as public; an impute value must be a number.
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .mean, bounds: 0...1, relation: .replaceOne, epsilon: 1, invalid: .drop)))
        XCTAssertThrowsError(try StatisticAccumulator(spec: StatisticSpec(statistic: .mean, bounds: 0...1, epsilon: 1, invalid: .impute("n/a"))))
        XCTAssertThrowsError(try InvalidValueRule(argument: "ignore"))
        XCTAssertEqual(try dp(["release", "--input", try write("a.csv", "v\n1\n"), "--column", "v", "--statistic", "count",
                               "--epsilon", "1", "--invalid", "skip"]).status, 2)
    }

    /// What can still fail after the data is read (a quoted field that is
    /// never closed) is charged: the adversary pays for every probe.
    func testAFailureAfterReadingIsCharged() throws {
        let db = path("l.db")
        XCTAssertEqual(try dp(["budget", "--ledger", db, "--dataset", "d", "--set-total", "1"]).status, 0)
        let csv = try write("q.csv", "v\n1\n2\n\"3\n")
        let r = try dp(["release", "--input", csv, "--column", "v", "--statistic", "sum", "--bounds", "0,9", "--epsilon", "0.25",
                        "--ledger", db, "--dataset", "d"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderrText.contains("charge"), r.stderrText)
        XCTAssertTrue(r.stdout.isEmpty)
        let recorded = try charges(db, "d")
        XCTAssertEqual(recorded.map(\.outcome), [.failed])
        XCTAssertEqual(recorded.map(\.cost.epsilon), [0.25])
        // Errors found before any record is read (the header, the column) are not charged.
        XCTAssertEqual(try dp(["release", "--input", csv, "--column", "nope", "--statistic", "count", "--epsilon", "0.25",
                               "--ledger", db, "--dataset", "d"]).status, 2)
        XCTAssertEqual(try charges(db, "d").count, 1)
    }
}
