import XCTest
import TestSupport
@testable import ModelScanner

/// Issue #13 items 7 and 8: joblib's array wrappers. `NumpyArrayWrapper`
/// reads array data inline (as a nested pickle when `dtype.hasobject`, which
/// a pickled dtype state can force); `NDArrayWrapper` makes joblib `np.load`
/// another file with `allow_pickle=True`.
final class JoblibClassTests: XCTestCase {
    typealias Op = Hostile.Op

    private func joblibStream(dtype: [UInt8], count: Int = 1, after: [UInt8]) -> [UInt8] {
        Op.proto2 + Hostile.numpyArrayWrapper(dtypeBytes: dtype, count: count) + after + Op.stop
    }

    func testJoblibWrapperDtypeClass_forgedObjectFlagMakesTheDataANestedPickle() throws {
        // V8 holds no objects, but the state's flags (0x3F) set NPY_ITEM_HASOBJECT:
        // joblib then unpickles the "array data", here os.system.
        let bytes = joblibStream(dtype: Hostile.dtype("V8", elsize: 8, flags: 0x3F), after: Hostile.systemPickle("echo joblib"))
        let path = try Hostile.write(bytes, name: "model.joblib")
        let report = ModelScanner.scanFile(at: path)
        XCTAssertTrue(report.findings.contains { $0.kind == .forgedObjectFlag && $0.severity == .dangerous }, "\(report.findings)")
        XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" }, "\(report.findings)")
        let outcome = try RealLoader.load(path, with: "joblib")
        XCTAssertEqual(outcome.systemCalls, ["echo joblib"], outcome.error ?? "")
    }

    func testJoblibWrapperDtypeClass_honestDtypesAreFollowedExactly() throws {
        // f8 x 2 raw, then the stream goes on; V8 with flags 0 raw; O8 with flags 63 nested.
        let f8 = joblibStream(dtype: Hostile.dtype("f8", byteOrder: "<", elsize: -1, flags: 0), count: 2, after: [UInt8](repeating: 0x2E, count: 16))
        XCTAssertEqual(try Hostile.scan(f8, name: "a.joblib").findings, [])
        let v8 = joblibStream(dtype: Hostile.dtype("V8", elsize: 8, flags: 0), after: [UInt8](repeating: 0xFF, count: 8))
        XCTAssertEqual(try Hostile.scan(v8, name: "b.joblib").findings, [])
        let o8 = joblibStream(dtype: Hostile.dtype("O8", elsize: -1, flags: 63), after: Op.proto2 + Op.none + Op.stop)
        XCTAssertEqual(try Hostile.scan(o8, name: "c.joblib").findings, [])
        let realF8 = try RealLoader.load(try Hostile.write(f8, name: "a.joblib"), with: "joblib")
        XCTAssertNil(realF8.error)
    }

    func testJoblibWrapperDtypeClass_clearedObjectFlagIsForged() throws {
        // An object dtype whose flags say "no objects": numpy/joblib would read pointers as raw bytes.
        let bytes = joblibStream(dtype: Hostile.dtype("O8", elsize: -1, flags: 0), after: [UInt8](repeating: 0x41, count: 8))
        let report = try Hostile.scan(bytes, name: "m.joblib")
        XCTAssertTrue(report.findings.contains { $0.kind == .forgedObjectFlag && $0.severity == .dangerous }, "\(report.findings)")
    }

    func testJoblibWrapperDtypeClass_unprovenDtypeFailsClosed() throws {
        // The dtype attribute is not a numpy.dtype(...) the scanner can evaluate.
        let bytes = joblibStream(dtype: Op.unicode("f8"), after: [UInt8](repeating: 0x41, count: 8))
        let report = try Hostile.scan(bytes, name: "m.joblib")
        XCTAssertFalse(report.isClean)
        XCTAssertTrue(report.findings.contains { $0.severity == .error && $0.message.contains("cannot prove object-free") }, "\(report.findings)")
    }

    func testJoblibWrapperDtypeClass_forgedFlagIsDangerousInAnyPickle() throws {
        // ndarray state with a V8 dtype claiming objects: numpy would treat the raw bytes as object pointers.
        let bytes = Op.proto2 + Op.global("numpy.core.multiarray", "_reconstruct") + Op.global("numpy", "ndarray")
            + Op.int(0) + Op.tuple1 + Op.unicode("b") + Op.tuple3 + Op.reduce
            + Op.mark + Op.int(1) + Op.int(1) + Op.tuple1 + Hostile.dtype("V8", elsize: 8, flags: 0x01) + Op.newFalse
            + [0x43, 8] + [UInt8](repeating: 0x41, count: 8) + Op.tuple + Op.build + Op.stop
        let report = try Hostile.scan(bytes, name: "array.pkl")
        XCTAssertEqual(report.kinds, [.forgedObjectFlag], "\(report.findings)")
    }

    func testJoblibWrapperDtypeClass_wrapperInsideAnUnfinishedFrameIsMalformed() throws {
        // Protocol 4: a frame that covers the wrapper's BUILD and opcodes after it. joblib reads the
        // array from after the frame and then runs the rest of the frame.
        let wrapper = Hostile.numpyArrayWrapper(dtypeBytes: Hostile.dtype("f8", byteOrder: "<", elsize: -1, flags: 0), count: 2)
        let inFrame = wrapper + Op.global("os", "system") + Op.unicode("echo frame") + Op.tuple1 + Op.reduce + Op.pop
        let bytes: [UInt8] = [0x80, 0x04] + Op.frame(inFrame.count) + inFrame + [UInt8](repeating: 0, count: 16) + Op.stop
        let path = try Hostile.write(bytes, name: "framed.joblib")
        let report = ModelScanner.scanFile(at: path)
        XCTAssertTrue(report.findings.contains { $0.kind == .malformedPickle && $0.message.contains("inside a frame") }, "\(report.findings)")
        XCTAssertTrue(report.hasDangerous, "\(report.findings)")
        let outcome = try RealLoader.load(path, with: "joblib")
        XCTAssertEqual(outcome.systemCalls, ["echo frame"], outcome.error ?? "")
    }

    // MARK: NDArrayWrapper

    func testJoblibNDArrayWrapperReferenceClass_referencedFileIsScannedWhateverItsName() throws {
        let dir = try TestSupport.makeTemporaryDirectory("joblib-ref")
        let model = try Hostile.write(Hostile.ndArrayWrapperPickle(filename: "README.txt"), name: "model.pkl", in: dir)
        _ = try Hostile.write(Hostile.systemPickle("echo readme"), name: "README.txt", in: dir)
        let single = ModelScanner.scanFile(at: model)
        XCTAssertEqual(single.references, ["README.txt"])
        XCTAssertEqual(single.findings, [])

        let report = ModelScanner.scan(paths: [dir.path])
        XCTAssertTrue(report.skipped.isEmpty, "\(report.skipped)")
        let readme = try XCTUnwrap(report.files.first { $0.path.hasSuffix("/README.txt") })
        XCTAssertTrue(readme.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" }, "\(readme.findings)")
        XCTAssertEqual(report.exitCode, 1)
        // Scanning only the referencing file follows the reference too.
        XCTAssertEqual(ModelScanner.scan(paths: [model]).summary.dangerous, 1)

        let outcome = try RealLoader.load(model, with: "joblib")
        XCTAssertEqual(outcome.systemCalls, ["echo readme"], outcome.error ?? "")
    }

    func testJoblibNDArrayWrapperReferenceClass_namesOutsideTheDirectoryAreDangerous() throws {
        let root = try TestSupport.makeTemporaryDirectory("joblib-ref")
        let dir = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        _ = try Hostile.write(Hostile.systemPickle(), name: "outside.npy", in: root)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.npy").path, withDestinationPath: root.appendingPathComponent("outside.npy").path)
        for name in ["../outside.npy", root.appendingPathComponent("outside.npy").path, "sub/../../outside.npy", "link.npy", "", "a\u{0}b"] {
            let model = try Hostile.write(Hostile.ndArrayWrapperPickle(filename: name), name: "model.pkl", in: dir)
            let report = ModelScanner.scan(paths: [model])
            let file = try XCTUnwrap(report.files.first)
            XCTAssertTrue(file.findings.contains { $0.kind == .externalReference && $0.severity == .dangerous }, "\(name.debugDescription): \(file.findings)")
            XCTAssertFalse(report.files.contains { $0.path.hasSuffix("outside.npy") }, "a file outside the model was scanned")
        }
        // joblib really opens the file outside the directory.
        let model = try Hostile.write(Hostile.ndArrayWrapperPickle(filename: "../outside.npy"), name: "model.pkl", in: dir)
        let outcome = try RealLoader.load(model, with: "joblib", watch: "outside.npy")
        XCTAssertFalse(outcome.opened.isEmpty, "joblib did not open the referenced file: \(outcome.error ?? "")")
    }

    func testJoblibNDArrayWrapperReferenceClass_missingFileIsAnError() throws {
        let model = try Hostile.write(Hostile.ndArrayWrapperPickle(filename: "weights_01.npy"), name: "model.pkl")
        let report = ModelScanner.scan(paths: [model])
        XCTAssertEqual(report.files.count, 1)
        XCTAssertEqual(report.files[0].kinds, [.externalReference])
        XCTAssertEqual(report.files[0].findings.first?.severity, .error)
    }

    func testJoblibNDArrayWrapperReferenceClass_wrapperBuiltByItsConstructorIsFollowed() throws {
        // NDArrayWrapper("README.txt", ndarray) by REDUCE (so __init__ sets filename), then BUILD with {}.
        let dir = try TestSupport.makeTemporaryDirectory("joblib-ref")
        let bytes = Op.proto2 + Op.global("joblib.numpy_pickle", "NDArrayWrapper") + Op.mark + Op.unicode("README.txt")
            + Op.global("numpy", "ndarray") + Op.tuple + Op.reduce + Op.emptyDict + Op.build + Op.stop
        let model = try Hostile.write(bytes, name: "model.pkl", in: dir)
        _ = try Hostile.write(Hostile.systemPickle("echo init"), name: "README.txt", in: dir)
        let report = ModelScanner.scan(paths: [model])
        XCTAssertEqual(report.files.map { ($0.path as NSString).lastPathComponent }, ["model.pkl", "README.txt"])
        XCTAssertEqual(report.summary.dangerous, 1)
        let outcome = try RealLoader.load(model, with: "joblib")
        XCTAssertEqual(outcome.systemCalls, ["echo init"], outcome.error ?? "")
    }

    func testJoblibNDArrayWrapperReferenceClass_unresolvableNameIsDangerous() throws {
        // The filename is the result of a call the scanner cannot evaluate.
        let bytes = Op.proto2 + Op.global("joblib.numpy_pickle", "NDArrayWrapper") + Op.emptyTuple + Op.newObj + Op.emptyDict + Op.mark
            + Op.unicode("filename") + Op.global("builtins", "str") + Op.unicode("x") + Op.tuple1 + Op.reduce
            + Op.setItems + Op.build + Op.stop
        let report = try Hostile.scan(bytes, name: "model.pkl")
        XCTAssertTrue(report.findings.contains { $0.kind == .externalReference && $0.severity == .dangerous }, "\(report.findings)")
    }
}
