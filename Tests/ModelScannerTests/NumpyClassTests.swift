import XCTest
import TestSupport
@testable import ModelScanner

/// Issue #13 items 2 and 3: .npy dtypes that hold objects however they are
/// spelled, and .npz members that are arrays whatever their name.
final class NumpyClassTests: XCTestCase {
    /// descr literals that numpy's `descr_to_dtype` turns into a dtype holding objects.
    static let objectDescrs = [
        "'object'", "'O'", "'|O'", "'<O'", "'=O'", "'O8'", "'object_'", "'f8,O'", "'f8, O'", "'(1,)O'", "'(2,3)O'",
        "('O', (2,))", "('|O', 1)", "[('a', '<f8'), ('b', '|O')]", "[('a', '<f8'), ('b', '|O', (2,))]",
        "[(('title', 'a'), '|O')]", "[('n', [('inner', '|O')])]", "['xO']", "{'aO': 1}",
    ]

    func testNpyObjectDtypeClass_everySpellingOfAnObjectDtypeIsScannedAsAPickle() throws {
        for descr in Self.objectDescrs {
            let path = try Hostile.write(Hostile.npy(descr: descr, payload: Hostile.systemPickle()), name: "evil.npy")
            let report = ModelScanner.scanFile(at: path)
            XCTAssertEqual(report.format, .npy, descr)
            XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" },
                          "\(descr): \(report.findings)")
        }
    }

    /// The crafted files really run their pickle in `np.load(allow_pickle=True)`.
    func testNpyObjectDtypeClass_theRealLoaderUnpicklesEveryCraftedFile() throws {
        for descr in Self.objectDescrs {
            let path = try Hostile.write(Hostile.npy(descr: descr, payload: Hostile.systemPickle("echo npy")), name: "evil.npy")
            let outcome = try RealLoader.load(path, with: "numpy")
            XCTAssertEqual(outcome.systemCalls, ["echo npy"], "\(descr): numpy did not reach the pickle (\(outcome.error ?? "no error"))")
        }
    }

    func testNpyObjectDtypeClass_unclassifiableDescrFailsClosed() throws {
        // numpy reads these as numeric dtypes, but the scanner does not classify
        // comma strings or bare char codes: the data is read as a pickle and,
        // not being one, is a finding.
        for descr in ["'f8,i4'", "'d'", "'float64'", "'(2,)f8'", "{'names': ['a'], 'formats': ['<f8']}"] {
            let report = try Hostile.scan(Hostile.npy(descr: descr, payload: [UInt8](repeating: 0x41, count: 16)), name: "odd.npy")
            XCTAssertFalse(report.isClean, descr)
            XCTAssertTrue(report.findings.allSatisfy { $0.severity == .error }, "\(descr): \(report.findings)")
            XCTAssertTrue(report.findings.contains { $0.message.contains("not proven object-free") }, "\(descr): \(report.findings)")
        }
        // The same descrs with a benign pickle after the header are clean: that is all numpy could unpickle.
        let benign = try Hostile.scan(Hostile.npy(descr: "'f8,i4'", payload: Hostile.Op.proto2 + Hostile.Op.none + Hostile.Op.stop), name: "b.npy")
        XCTAssertEqual(benign.findings, [])
    }

    func testNpyObjectDtypeClass_numericDescrsNeedExactData() throws {
        let cases: [(String, String, Int)] = [
            ("'<f8'", "(3,)", 24), ("'|b1'", "(2, 2)", 4), ("'<U3'", "(2,)", 24), ("'<M8[ns]'", "(1,)", 8), ("'|V5'", "(2,)", 10),
            ("[('a', '<f4'), ('b', '<i8', (2,))]", "(2,)", 40), ("('<f4', (2,))", "(3,)", 24), ("[('', '|V4'), ('x', '<u2')]", "(1,)", 6),
        ]
        for (descr, shape, length) in cases {
            let clean = try Hostile.scan(Hostile.npy(descr: descr, shape: shape, payload: [UInt8](repeating: 7, count: length)), name: "n.npy")
            XCTAssertEqual(clean.findings, [], "\(descr) \(shape)")
            let short = try Hostile.scan(Hostile.npy(descr: descr, shape: shape, payload: [UInt8](repeating: 7, count: length - 1)), name: "n.npy")
            XCTAssertEqual(short.kinds, [.malformedNumpy], "\(descr) \(shape)")
        }
    }

    func testNpyObjectDtypeClass_headerMustBeExactlyWhatNumpyAccepts() throws {
        // numpy requires exactly the keys descr, fortran_order and shape.
        let extraKey = Hostile.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", payload: [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(try Hostile.scan(extraKey, name: "k.npy").kinds, [.malformedNumpy])
        var badMinor = Hostile.npy(descr: "'<f8'", payload: [UInt8](repeating: 0, count: 8))
        badMinor[7] = 1
        XCTAssertEqual(try Hostile.scan(badMinor, name: "v.npy").kinds, [.malformedNumpy])
    }

    func testNpzMemberWithoutNpySuffixClass_isScannedByContent() throws {
        let evilArray = Hostile.npy(descr: "'|O'", payload: Hostile.systemPickle("echo npz"))
        let weights = Hostile.npy(descr: "'<f4'", shape: "(2,)", payload: [UInt8](repeating: 0, count: 8))
        for evilName in ["weights", "weights.txt", "WEIGHTS.NPY.bak", "dir/"] {
            let bytes = Hostile.zip([Hostile.ZipMember(name: "bias.npy", data: weights), Hostile.ZipMember(name: evilName, data: evilArray)])
            let path = try Hostile.write(bytes, name: "model.npz")
            let report = ModelScanner.scanFile(at: path)
            XCTAssertEqual(report.format, .npz, evilName)
            XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.location.hasSuffix(":\(evilName)") },
                          "\(evilName): \(report.findings)")
            if evilName != "dir/" {
                let outcome = try RealLoader.load(path, with: "numpy")
                XCTAssertEqual(outcome.systemCalls, ["echo npz"], "\(evilName): \(outcome.error ?? "")")
            }
        }
    }

    func testNpzMemberWithoutNpySuffixClass_picklesNamedAnythingAreScanned() throws {
        // A member nobody is known to unpickle, but that is a pickle: its imports are reported.
        let pickled = Hostile.Op.proto2 + Hostile.Op.global("os", "system") + Hostile.Op.unicode("true") + Hostile.Op.tuple1
            + Hostile.Op.reduce + Hostile.Op.stop
        let weights = Hostile.npy(descr: "'<f4'", shape: "(2,)", payload: [UInt8](repeating: 0, count: 8))
        let bytes = Hostile.zip([Hostile.ZipMember(name: "a.npy", data: weights), Hostile.ZipMember(name: "extra/state.bin", data: pickled)])
        let report = try Hostile.scan(bytes, name: "model.npz")
        XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.location.hasSuffix(":extra/state.bin") }, "\(report.findings)")
        // Raw tensor bytes that merely start like a pickle are not a finding.
        let raw: [UInt8] = [0x80, 0x02, 0xFF, 0x13, 0x37] + [UInt8](repeating: 0, count: 64)
        let quiet = Hostile.zip([Hostile.ZipMember(name: "a.npy", data: weights), Hostile.ZipMember(name: "archive/data/0", data: raw)])
        XCTAssertEqual(try Hostile.scan(quiet, name: "q.npz").findings, [])
    }
}
