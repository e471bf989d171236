import XCTest
import TestSupport
@testable import ModelScanner

/// Issue #13 items 6 and 10: the allowlist is the default (only globals
/// known to be safe with any arguments pass), and everything else fails the
/// shipped policies at the gate.
final class AllowlistClassTests: XCTestCase {
    typealias Op = Hostile.Op

    func testAllowlistReviewClass_loadFromBytesIsDangerous() throws {
        // torch.storage._load_from_bytes(b) is torch.load(BytesIO(b), weights_only=False).
        XCTAssertEqual(GlobalClassifier.classify(module: "torch.storage", name: "_load_from_bytes"), .dangerous)
        let bytes = Op.proto2 + Op.global("torch.storage", "_load_from_bytes") + [0x43, 2, 0x4E, 0x2E] + Op.tuple1 + Op.reduce + Op.stop
        let report = try Hostile.scan(bytes, name: "tensor.pkl")
        XCTAssertEqual(report.kinds, [.dangerousGlobal])
        XCTAssertEqual(report.findings.first?.global, "torch.storage._load_from_bytes")
    }

    func testAllowlistReviewClass_onlyExactAllowlistedNamesAreSafe() {
        // Broad "capitalized class under a package" rules are gone: those classes are not proven safe.
        for (module, name) in [("sklearn.linear_model._logistic", "LogisticRegression"), ("torch.nn.modules.linear", "Linear"),
                               ("scipy.sparse._csr", "csr_matrix"), ("enum", "Enum"), ("numpy", "object_"),
                               ("torch.serialization", "StorageType"), ("collections", "OrderedDict.fromkeys"), ("torchx", "FloatStorage")] {
            XCTAssertEqual(GlobalClassifier.classify(module: module, name: name), .unknown, "\(module).\(name)")
        }
        for (module, name) in [("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"), ("torch", "FloatStorage"),
                               ("numpy._core.multiarray", "_reconstruct"), ("numpy", "dtype"), ("copy_reg", "_reconstructor"),
                               ("__builtin__", "set"), ("joblib.numpy_pickle", "NumpyArrayWrapper"), ("torch", "bfloat16")] {
            XCTAssertEqual(GlobalClassifier.classify(module: module, name: name), .safe, "\(module).\(name)")
        }
        // Allowlist membership is by exact bytes, not Unicode equivalence.
        let set: Set<String> = ["caf\u{E9}.x"]
        XCTAssertTrue(GlobalClassifier.containsExactly(set, "caf\u{E9}.x"))
        XCTAssertFalse(GlobalClassifier.containsExactly(set, "cafe\u{301}.x"))
    }

    /// Allowlisted callables that instantiate a class they are given
    /// (`numpy.ma.core._mareconstruct` calls `subtype.__new__`) are tracked as
    /// making an instance of that class, so a joblib wrapper made that way is followed.
    func testAllowlistReviewClass_classInstantiatorsAreTrackedInJoblibStreams() throws {
        let dir = try TestSupport.makeTemporaryDirectory("instantiator")
        var bytes = Op.proto2 + Op.global("numpy.ma.core", "_mareconstruct") + Op.mark + Op.global("joblib.numpy_pickle", "NDArrayWrapper")
            + Op.global("numpy", "ndarray") + Op.int(0) + Op.tuple1 + Op.unicode("b") + Op.tuple + Op.reduce
        bytes += Op.emptyDict + Op.mark + Op.unicode("filename") + Op.unicode("secret.npy") + Op.unicode("subclass") + Op.global("numpy", "ndarray")
            + Op.setItems + Op.build + Op.stop
        let model = try Hostile.write(bytes, name: "model.pkl", in: dir)
        _ = try Hostile.write(Hostile.systemPickle("echo instantiated"), name: "secret.npy", in: dir)
        XCTAssertEqual(ModelScanner.scanFile(at: model).references, ["secret.npy"])
        let report = ModelScanner.scan(paths: [model])
        XCTAssertTrue(report.files.contains { $0.path.hasSuffix("/secret.npy") && $0.hasDangerous }, "\(report.files.map(\.findings))")
        let outcome = try RealLoader.load(model, with: "joblib")
        XCTAssertEqual(outcome.systemCalls, ["echo instantiated"], "joblib did not treat the result as a wrapper: \(outcome.error ?? "")")
    }

    /// Allowlisted callables that can hand back an object built elsewhere in the
    /// stream (`torch._tensor._rebuild_from_type_v2` returns `func(*args)`) must
    /// not let a joblib array wrapper through unseen: BUILD on their result fails closed.
    func testAllowlistReviewClass_passthroughResultsFailClosedInJoblibStreams() throws {
        var bytes = Op.proto2 + Op.global("torch._tensor", "_rebuild_from_type_v2") + Op.mark
            + Op.global("copyreg", "_reconstructor") + Op.global("joblib.numpy_pickle", "NDArrayWrapper")
            + Op.mark + Op.global("joblib.numpy_pickle", "NDArrayWrapper") + Op.global("builtins", "object") + Op.none + Op.tuple
            + Op.emptyDict + Op.tuple + Op.reduce
        bytes += Op.emptyDict + Op.mark + Op.unicode("filename") + Op.unicode("secret.npy") + Op.setItems + Op.build + Op.stop
        let report = try Hostile.scan(bytes, name: "model.pkl")
        XCTAssertTrue(report.findings.contains { $0.kind == .malformedPickle && $0.message.contains("_rebuild_from_type_v2") }, "\(report.findings)")
    }

    /// What numpy's own pickles of masked arrays, random generators and seed sequences import is allowlisted and followed.
    func testAllowlistReviewClass_numpyObjectsPickledByNumpyAreClean() throws {
        let dir = try TestSupport.makeTemporaryDirectory("numpy-pickles")
        let python = try TestSupport.python()
        let script = """
        import sys, pickle, numpy as np, joblib
        objects = {"masked": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]), "rng": np.random.default_rng(2),
                   "legacy": np.random.RandomState(1), "record": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
                   "objects": np.array([{"k": 1}, None], dtype=object), "when": np.array(["2020-01-01"], dtype="datetime64[ns]"),
                   "scalar": np.float32(1.5), "dtype": np.dtype([("a", "<f4"), ("b", "O")])}
        for protocol in range(6):
            with open(f"{sys.argv[1]}/objects_p{protocol}.pkl", "wb") as f:
                pickle.dump(objects, f, protocol=protocol)
        joblib.dump(objects, f"{sys.argv[1]}/objects.joblib")
        """
        let made = try TestSupport.run(python, ["-c", script, dir.path])
        XCTAssertEqual(made.status, 0, made.stderrText)
        let report = ModelScanner.scan(paths: [dir.path])
        XCTAssertEqual(report.files.count, 7)
        for file in report.files {
            XCTAssertEqual(file.findings, [], file.path)
        }
    }

    func testUnknownGlobalClass_debugScriptIsDangerousAndAnyUnlistedGlobalIsSuspicious() throws {
        XCTAssertEqual(GlobalClassifier.classify(module: "doctest", name: "debug_script"), .dangerous)
        let gadget = Op.proto2 + Op.global("doctest", "debug_script") + Op.unicode("import os") + Op.tuple1 + Op.reduce + Op.stop
        XCTAssertEqual(try Hostile.scan(gadget, name: "g.pkl").findings.map(\.severity), [.dangerous])
        let unlisted = Op.proto2 + Op.global("somepackage.tools", "helper") + Op.emptyTuple + Op.reduce + Op.stop
        let report = try Hostile.scan(unlisted, name: "u.pkl")
        XCTAssertEqual(report.kinds, [.unknownGlobal])
        XCTAssertEqual(report.findings.first?.severity, .suspicious)
    }

    /// The shipped policies deny every severity: a release whose model holds a
    /// global that is not on the allowlist, or a file the scanner cannot read
    /// unambiguously, fails baseline and strict; an allowlisted one passes baseline.
    func testUnknownGlobalClass_failsBaselineAndStrictAtTheGate() throws {
        let root = TestSupport.repositoryRoot
        let work = try TestSupport.makeTemporaryDirectory("allowlist-gate")
        let env = ["MODELSEC_TRUSTED_KEYS": root.appendingPathComponent("keys-example/p256.pem.pub").path]
        let card = work.appendingPathComponent("card.yaml")
        try "license: apache-2.0\nowner: ml@example.com\n".write(to: card, atomically: true, encoding: .utf8)
        func release(_ name: String, extra: [UInt8]?, extraName: String = "extra.pkl") throws -> String {
            let model = work.appendingPathComponent("\(name)-model")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            let header = Array(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
            _ = try Hostile.write(Hostile.u64(UInt64(header.count)) + header + [UInt8](repeating: 0, count: 8), name: "model.safetensors", in: model)
            if let extra { _ = try Hostile.write(extra, name: extraName, in: model) }
            let out = work.appendingPathComponent("\(name)-release").path
            let r = try TestSupport.modelsec([
                "release", "create", model.path, "--name", name, "--version", "1.0.0",
                "--signing-key", root.appendingPathComponent("keys-example/p256.pem").path,
                "--key-file", root.appendingPathComponent("keys-example/aes256.key").path,
                "--metadata", card.path, "--output", out,
            ])
            XCTAssertEqual(r.status, 0, r.stderrText)
            return out
        }
        func failedRules(_ release: String, _ policy: String) throws -> (Int32, [String]) {
            let r = try TestSupport.modelsec(["audit", release, "--policy", root.appendingPathComponent("policies/\(policy).yaml").path,
                                              "--format", "json"], environment: env)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.stderrText)
            let results = try XCTUnwrap(json["results"] as? [[String: Any]])
            return (r.status, results.filter { $0["status"] as? String == "failure" }.compactMap { $0["ruleID"] as? String })
        }
        let allowlisted = Op.proto2 + Op.global("collections", "OrderedDict") + Op.emptyTuple + Op.reduce + Op.stop
        let unlisted = Op.proto2 + Op.global("doctest", "script_from_examples") + Op.unicode("x") + Op.tuple1 + Op.reduce + Op.stop
        let unlistedNotDenied = Op.proto2 + Op.global("mylib.helpers", "Thing") + Op.emptyTuple + Op.reduce + Op.stop
        let ambiguousZip = Hostile.zip([Hostile.ZipMember(name: "archive/data.pkl", data: allowlisted),
                                        Hostile.ZipMember(name: "archive/DATA.pkl", data: allowlisted)])

        let good = try release("good", extra: allowlisted)
        var (status, failed) = try failedRules(good, "baseline")
        XCTAssertEqual(status, 0)
        XCTAssertEqual(failed, [])

        for (name, bytes, extraName, rule) in [("denied", unlisted, "extra.pkl", "MS-SCAN-001"),
                                               ("unlisted", unlistedNotDenied, "extra.pkl", "MS-SCAN-001"),
                                               ("ambiguous", ambiguousZip, "model.pt", "MS-SCAN-002")] {
            let bad = try release(name, extra: bytes, extraName: extraName)
            (status, failed) = try failedRules(bad, "baseline")
            XCTAssertEqual(status, 1, name)
            XCTAssertEqual(failed, [rule], name)
            (status, failed) = try failedRules(bad, "strict")
            XCTAssertEqual(status, 1, name)
            XCTAssertTrue(failed.contains("MS-SCAN-001"), "\(name): \(failed)")
        }
    }
}
