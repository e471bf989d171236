import XCTest
import TestSupport
@testable import ModelScanner

/// Plain pickle files and the pickle parser itself.
final class PickleScanTests: XCTestCase {
    private func scan(_ name: String) throws -> FileScanReport {
        ModelScanner.scanFile(at: try ScannerFixtures.directory().appendingPathComponent(name).path)
    }

    private func scanBytes(_ bytes: [UInt8]) throws -> FileScanReport {
        let url = try TestSupport.makeTemporaryDirectory("scanner").appendingPathComponent("sample.pkl")
        try Data(bytes).write(to: url)
        return ModelScanner.scanFile(at: url.path)
    }

    private static let systemNames: Set<String> = ["posix.system", "nt.system", "os.system"]

    func testOsSystemReduceIsDangerousInEveryProtocol() throws {
        for (protocolVersion, opcode) in [(0, "GLOBAL"), (2, "GLOBAL"), (4, "STACK_GLOBAL"), (5, "STACK_GLOBAL")] {
            let report = try scan("evil_p\(protocolVersion).pkl")
            XCTAssertEqual(report.format, .pickle)
            XCTAssertEqual(report.streams.count, 1)
            XCTAssertEqual(report.streams[0].complete, true)
            XCTAssertEqual(report.streams[0].pickleProtocol, protocolVersion >= 2 ? protocolVersion : nil)
            XCTAssertEqual(report.findings.count, 1, "protocol \(protocolVersion): \(report.findings)")
            let finding = try XCTUnwrap(report.findings.first)
            XCTAssertEqual(finding.severity, .dangerous)
            XCTAssertEqual(finding.kind, .dangerousGlobal)
            XCTAssertTrue(Self.systemNames.contains(finding.global ?? ""), "\(finding)")
            XCTAssertTrue(finding.message.contains(opcode), finding.message)
            XCTAssertEqual(report.streams[0].globals.map(\.classification), [.dangerous])
        }
    }

    func testProtocol5SampleReallyUsesFrames() throws {
        let bytes = try FileIO_read(ScannerFixtures.directory().appendingPathComponent("evil_p5.pkl"))
        XCTAssertEqual(Array(bytes.prefix(3)), [0x80, 0x05, 0x95], "protocol 5 pickle should start with PROTO 5, FRAME")
    }

    func testBenignTorchStateDictIsClean() throws {
        let report = try scan("state_dict.pkl")
        XCTAssertEqual(report.findings, [])
        let globals = Set(report.streams.flatMap(\.globals).map(\.qualifiedName))
        XCTAssertEqual(globals, ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"])
        XCTAssertTrue(report.streams[0].globals.allSatisfy { $0.classification == .safe })
        // Two tensors: the rebuild function is imported once and memoized, the storage class once.
        XCTAssertEqual(report.streams[0].globals.first { $0.name == "_rebuild_tensor_v2" }?.count, 1)
    }

    func testJoblibInlineArraysAreFollowed() throws {
        let report = try scan("model.joblib")
        // The layout is followed to the end; the only finding is the estimator class, which is not on the allowlist.
        XCTAssertEqual(report.findings.map(\.kind), [.unknownGlobal], "\(report.findings)")
        XCTAssertEqual(report.findings.first?.global, "sklearn.linear_model._base.LinearRegression")
        XCTAssertEqual(report.streams.first?.complete, true)
        XCTAssertEqual(report.streams.count, 1)
        let globals = Set(report.streams[0].globals.map(\.qualifiedName))
        XCTAssertTrue(globals.contains("joblib.numpy_pickle.NumpyArrayWrapper"), "\(globals)")
        XCTAssertTrue(globals.contains("sklearn.linear_model._base.LinearRegression"), "\(globals)")

        let evil = try scan("evil.joblib")
        XCTAssertEqual(evil.findings.map(\.kind), [.dangerousGlobal], "\(evil.findings)")

        // Without following the layout, the raw array bytes do not parse: the scan fails closed.
        let bytes = try FileIO_read(ScannerFixtures.directory().appendingPathComponent("model.joblib"))
        XCTAssertNil(PickleScanner.scan(bytes, location: "x", limits: ScanLimits(), joblib: false).end)
        // A wrapper whose array data is cut short is malformed, not clean.
        let cut = try scanBytes(Array(bytes.dropLast(9)))
        XCTAssertTrue(cut.findings.contains { $0.kind == .malformedPickle }, "\(cut.findings)")
    }

    func testUnknownGlobalIsSuspicious() throws {
        let report = try scan("unknown_global.pkl")
        XCTAssertEqual(report.findings.map(\.kind), [.unknownGlobal])
        XCTAssertEqual(report.findings.first?.severity, .suspicious)
        XCTAssertEqual(report.findings.first?.global, "mylib.helpers.Thing")
    }

    /// STACK_GLOBAL whose operands come from the memo, with the strings pushed
    /// long before and popped off the stack in between.
    func testStackGlobalThroughMemoIsResolved() throws {
        let os = Array("os".utf8), system = Array("system".utf8)
        var bytes: [UInt8] = [0x80, 0x04]
        bytes += [0x8C, UInt8(os.count)] + os + [0x94]                  // SHORT_BINUNICODE 'os'; MEMOIZE -> 0
        bytes += [0x8C, UInt8(system.count)] + system + [0x94]          // 'system'; MEMOIZE -> 1
        bytes += [0x30, 0x30]                                           // POP, POP
        bytes += [0x8C, 3] + Array("abc".utf8) + [0x30]                 // a decoy string, popped
        bytes += [0x68, 0x00, 0x6A, 0x01, 0x00, 0x00, 0x00]             // BINGET 0, LONG_BINGET 1
        bytes += [0x93]                                                 // STACK_GLOBAL
        bytes += [0x8C, 2] + Array("id".utf8) + [0x85, 0x52, 0x2E]      // ('id',) REDUCE STOP
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.dangerousGlobal])
        XCTAssertEqual(report.findings.first?.global, "os.system")

        // Protocol-0 style PUT/GET with text memo keys, then STACK_GLOBAL.
        var text: [UInt8] = Array("Vbuiltins\np7\n0Veval\np8\n0g7\ng8\n".utf8) + [0x93]
        text += Array("(S'1+1'\ntR.".utf8)
        let report0 = try scanBytes(text)
        XCTAssertEqual(report0.findings.map(\.global), ["builtins.eval"])
        XCTAssertEqual(report0.findings.first?.severity, .dangerous)
    }

    func testEscapedProtocol0StringsAreDecoded() throws {
        // UNICODE with raw-unicode-escape and STRING with \x escapes spell "os" and "system".
        let bytes = Array("V\\u006fs\nS'sys\\x74em'\n".utf8) + [0x93] + Array("(S'id'\ntR.".utf8)
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.global), ["os.system"])
    }

    func testDottedNameReachingADangerousModuleIsDangerous() throws {
        // find_class("torch", "_utils.os.system") would resolve through getattr chains.
        let module = Array("torch".utf8), name = Array("_utils.os.system".utf8)
        var bytes: [UInt8] = [0x80, 0x04, 0x8C, UInt8(module.count)] + module + [0x8C, UInt8(name.count)] + name
        bytes += [0x93, 0x29, 0x52, 0x2E]                              // STACK_GLOBAL () REDUCE STOP
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.dangerousGlobal])
        XCTAssertEqual(report.findings.first?.global, "torch._utils.os.system")
    }

    func testUnresolvableStackGlobalAndExtensionCodesAreSuspicious() throws {
        // Module and name are bytes objects (not str): cannot be resolved statically.
        let bytes: [UInt8] = [0x80, 0x04, 0x43, 2] + Array("os".utf8) + [0x43, 6] + Array("system".utf8) + [0x93, 0x2E]
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.unresolvedGlobal])
        XCTAssertEqual(report.findings.first?.severity, .suspicious)

        for ext: [UInt8] in [[0x82, 0x01], [0x83, 0x01, 0x02], [0x84, 0x01, 0x02, 0x03, 0x04]] {
            let r = try scanBytes([0x80, 0x02] + ext + [0x29, 0x52, 0x2E])
            XCTAssertEqual(r.findings.map(\.kind), [.extensionCode], "\(ext)")
            XCTAssertEqual(r.findings.first?.severity, .suspicious)
        }
    }

    func testEveryTruncationOfAStreamIsAFinding() throws {
        for name in ["state_dict.pkl", "evil_p2.pkl", "evil_p5.pkl", "evil_p0.pkl"] {
            let bytes = try FileIO_read(ScannerFixtures.directory().appendingPathComponent(name))
            for length in 1..<bytes.count {
                let report = try scanBytes(Array(bytes.prefix(length)))
                XCTAssertFalse(report.isClean, "\(name) cut to \(length) bytes was reported clean")
                let malformed = report.findings.filter { $0.kind == .malformedPickle || $0.kind == .unknownFormat }
                XCTAssertFalse(malformed.isEmpty, "\(name) cut to \(length) bytes: \(report.findings)")
            }
        }
    }

    func testMalformedStreamsFailClosed() throws {
        let cases: [(String, [UInt8])] = [
            ("unknown opcode", [0x80, 0x02, 0xFF, 0x2E]),
            ("unsupported protocol", [0x80, 0x06, 0x4E, 0x2E]),
            ("memo key missing", [0x80, 0x02, 0x68, 0x05, 0x2E]),
            ("stack underflow", [0x80, 0x02, 0x52, 0x2E]),
            ("STOP with empty stack", [0x80, 0x02, 0x2E]),
            ("POP_MARK without mark", [0x80, 0x02, 0x4E, 0x31, 0x2E]),
            ("frame past end", [0x80, 0x04, 0x95, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x4E, 0x2E]),
            ("huge BINUNICODE", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61, 0x2E]),
            ("negative BINSTRING", [0x80, 0x02, 0x54, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]),
            ("unquoted STRING", Array("Sabc\n.".utf8)),
            ("bad INT", Array("I12x\n.".utf8)),
        ]
        for (label, bytes) in cases {
            let report = try scanBytes(bytes)
            XCTAssertEqual(report.findings.map(\.kind), [.malformedPickle], label)
            XCTAssertEqual(report.findings.first?.severity, .error, label)
        }
    }

    func testTrailingBytesAfterStopAreReportedAndSecondStreamsScanned() throws {
        let benign = try FileIO_read(ScannerFixtures.directory().appendingPathComponent("state_dict.pkl"))
        let evil = try FileIO_read(ScannerFixtures.directory().appendingPathComponent("evil_p2.pkl"))
        let twoStreams = try scanBytes(benign + evil)
        XCTAssertEqual(twoStreams.streams.count, 2)
        XCTAssertEqual(twoStreams.findings.map(\.kind), [.dangerousGlobal])
        XCTAssertTrue(twoStreams.findings[0].location.hasSuffix("#2"))

        let junk = try scanBytes(benign + [0xDE, 0xAD])
        XCTAssertEqual(junk.findings.map(\.kind), [.trailingData])
    }

    func testResourceLimitsAreFindings() throws {
        var limits = ScanLimits()
        limits.maxMemoEntries = 3
        limits.maxStackDepth = 10
        let memoHeavy: [UInt8] = [0x80, 0x04] + Array(repeating: [0x4E, 0x94, 0x30], count: 5).flatMap { $0 } + [0x4E, 0x2E]
        let r1 = PickleScanner.scan(memoHeavy, location: "memo", limits: limits)
        XCTAssertEqual(r1.findings.map(\.kind), [.resourceLimit])
        let deep: [UInt8] = [0x80, 0x02] + Array(repeating: 0x28, count: 20) + [0x2E]
        let r2 = PickleScanner.scan(deep, location: "deep", limits: limits)
        XCTAssertEqual(r2.findings.map(\.kind), [.resourceLimit])
        XCTAssertNil(r2.end)
    }

    func testRepeatedFindingsAreBoundedButDangerousOnesAreKept() throws {
        // 100,000 EXT1 opcodes (each a finding), then os.system: at most 1,000 lesser findings are
        // listed plus one resource-limit finding, and the dangerous import is still reported.
        var bytes: [UInt8] = [0x80, 0x02]
        for _ in 0..<100_000 { bytes += [0x82, 0x01, 0x30] }                 // EXT1 1, POP
        bytes += Array("cos\nsystem\n".utf8) + [0x29, 0x52, 0x2E]           // GLOBAL, (), REDUCE, STOP
        let result = PickleScanner.scan(bytes, location: "many", limits: ScanLimits())
        XCTAssertNotNil(result.end)
        XCTAssertLessThanOrEqual(result.findings.count, 1_002)
        XCTAssertEqual(result.findings.filter { $0.kind == .extensionCode }.count, 1_000)
        XCTAssertTrue(result.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" })
        XCTAssertTrue(result.findings.contains { $0.kind == .resourceLimit && $0.message.contains("99000 more findings") }, "\(result.findings.suffix(2))")
        // Distinct globals are bounded like the memo.
        var limits = ScanLimits()
        limits.maxMemoEntries = 100
        var many: [UInt8] = [0x80, 0x02]
        for index in 0..<200 { many += Array("cmod\(index)\nname\n".utf8) + [0x30] }
        many += [0x4E, 0x2E]
        let bounded = PickleScanner.scan(many, location: "globals", limits: limits)
        XCTAssertNil(bounded.end)
        XCTAssertTrue(bounded.findings.contains { $0.kind == .resourceLimit && $0.message.contains("distinct globals") })
    }

    func testDeeplyNestedValuesDoNotExhaustTheStack() throws {
        // 300,000 nested 1-tuples and a 100,000-long chain of dicts, each stored in the previous.
        let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 300_000) + [0x2E]
        let r1 = PickleScanner.scan(tuples, location: "tuples", limits: ScanLimits())
        XCTAssertNotNil(r1.end)
        XCTAssertEqual(r1.findings, [])
        var dicts: [UInt8] = [0x80, 0x02, 0x7D]                                        // EMPTY_DICT
        for index in 0..<100_000 {
            // DUP the current dict's key 1 -> new dict; keep the new dict on top via memo.
            dicts += [0x4B, 0x01, 0x7D, 0x94, 0x73]                                    // K 1, {}, MEMOIZE, SETITEM
            dicts += [0x30, 0x6A] + withUnsafeBytes(of: UInt32(index).littleEndian, Array.init) // POP, LONG_BINGET index
        }
        dicts += [0x2E]
        let r2 = PickleScanner.scan(dicts, location: "dicts", limits: ScanLimits())
        XCTAssertNotNil(r2.end, "\(r2.findings)")
    }

    func testClassifier() {
        XCTAssertEqual(GlobalClassifier.classify(module: "posix", name: "system"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "subprocess", name: "Popen"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "__builtin__", name: "eval"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "builtins", name: "getattr"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "functools", name: "partial"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "operator", name: "attrgetter"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "os.path", name: "join"), .dangerous)
        XCTAssertEqual(GlobalClassifier.classify(module: "torch._utils", name: "_rebuild_tensor_v2"), .safe)
        XCTAssertEqual(GlobalClassifier.classify(module: "numpy.core.multiarray", name: "_reconstruct"), .safe)
        XCTAssertEqual(GlobalClassifier.classify(module: "numpy._core.multiarray", name: "_reconstruct"), .safe)
        // Not on the allowlist: estimator classes are not proven safe (docs/scanner.md).
        XCTAssertEqual(GlobalClassifier.classify(module: "sklearn.linear_model._logistic", name: "LogisticRegression"), .unknown)
        XCTAssertEqual(GlobalClassifier.classify(module: "sklearn.utils", name: "some_function"), .unknown)
        XCTAssertEqual(GlobalClassifier.classify(module: "builtins", name: "set"), .safe)
        XCTAssertEqual(GlobalClassifier.classify(module: "collections", name: "OrderedDict.fromkeys"), .unknown)
        XCTAssertEqual(GlobalClassifier.classify(module: "torch", name: "FloatStorage"), .safe)
        XCTAssertEqual(GlobalClassifier.classify(module: "torchx", name: "FloatStorage"), .unknown)
    }
}

/// Reads a fixture's bytes.
func FileIO_read(_ url: URL) throws -> [UInt8] {
    Array(try Data(contentsOf: url))
}
