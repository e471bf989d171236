import XCTest
import TestSupport
@testable import ModelScanner

/// Issue #13 item 9: legacy PyTorch tar checkpoints, which `torch.load` tries
/// on every file that does not start with `PK\x03\x04`.
final class LegacyTarClassTests: XCTestCase {
    typealias Op = Hostile.Op

    /// `storages`: count 1, ("0", "cpu", torch.FloatStorage), 2 floats, no views.
    private var storages: [UInt8] {
        Op.proto2 + Op.int(1) + Op.stop
            + Op.proto2 + Op.unicode("0") + Op.unicode("cpu") + Op.global("torch", "FloatStorage") + Op.tuple3 + Op.stop
            + Hostile.u64(2) + [UInt8](repeating: 0, count: 8)
            + Op.proto2 + [0x5D] + Op.stop
    }

    /// `tensors`: count 1, ("t", "0", torch.FloatTensor), ndim 1, size 2, stride 1, offset 0.
    private var tensors: [UInt8] {
        Op.proto2 + Op.int(1) + Op.stop
            + Op.proto2 + Op.unicode("t") + Op.unicode("0") + Op.global("torch", "FloatTensor") + Op.tuple3 + Op.stop
            + Hostile.u32(1) + Hostile.u32(0) + Hostile.u64(2) + Hostile.u64(1) + Hostile.u64(0)
    }

    private func checkpoint(pickle: [UInt8], ustar: Bool = true) -> [UInt8] {
        Hostile.tar([("sys_info", Op.proto2 + Op.emptyDict + Op.stop), ("pickle", pickle), ("storages", storages), ("tensors", tensors)],
                    ustar: ustar)
    }

    func testLegacyTorchTarClass_benignCheckpointIsFollowedAndClean() throws {
        for ustar in [true, false] {
            let path = try Hostile.write(checkpoint(pickle: Op.proto2 + Op.emptyDict + Op.stop, ustar: ustar), name: "model.pth.tar")
            let report = ModelScanner.scanFile(at: path)
            XCTAssertEqual(report.format, .pytorchTar)
            XCTAssertEqual(report.findings, [], "ustar \(ustar)")
            XCTAssertEqual(report.streams.count, 1 + 1 + 3 + 2, "sys_info, pickle, storages x3, tensors x2")
            let outcome = try RealLoader.load(path, with: "tarfile")
            XCTAssertEqual(outcome.detail, "sys_info,pickle,storages,tensors", "Python's tarfile reads it (ustar \(ustar)): \(outcome.error ?? "")")
            XCTAssertNil(outcome.error)
        }
    }

    /// The way old torch wrote them: `tarfile` in PAX format adding real files,
    /// whose float mtimes become pax extended headers.
    func testLegacyTorchTarClass_tarWrittenByPythonTarfileIsRead() throws {
        let dir = try TestSupport.makeTemporaryDirectory("legacy-tar")
        let script = """
        import os, pickle, sys, tarfile, tempfile
        out, evil = sys.argv[1], sys.argv[2] == "evil"
        members = {"sys_info": pickle.dumps({"protocol_version": 1001}, protocol=2),
                   "pickle": b"cos\\nsystem\\n(S'true'\\ntR." if evil else pickle.dumps({"a": 1}, protocol=2),
                   "storages": pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2),
                   "tensors": pickle.dumps(0, protocol=2)}
        with tarfile.open(out, "w:", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members.items():
                with tempfile.NamedTemporaryFile(delete=False) as tmp:
                    tmp.write(data)
                os.utime(tmp.name, (1500000000.25, 1500000000.25))
                tar.add(tmp.name, arcname=name)
                os.remove(tmp.name)
        """
        for evil in [false, true] {
            let path = dir.appendingPathComponent(evil ? "evil.pth.tar" : "good.pth.tar").path
            let python = try TestSupport.python()
            let made = try TestSupport.run(python, ["-c", script, path, evil ? "evil" : "good"])
            XCTAssertEqual(made.status, 0, made.stderrText)
            XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data("mtime=1500000000.25".utf8)) != nil,
                          "the sample should carry pax mtime records")
            let report = ModelScanner.scanFile(at: path)
            XCTAssertEqual(report.format, .pytorchTar)
            if evil {
                XCTAssertEqual(report.findings.map(\.global), ["os.system"], "\(report.findings)")
            } else {
                XCTAssertEqual(report.findings, [])
            }
        }
        // A pax record that renames the member is refused.
        let paxData = Array("27 path=pickle-but-renamed\n".utf8)
        var renamed = Hostile.tarHeader(name: "PaxHeader", size: paxData.count, type: UInt8(ascii: "x")) + paxData
        renamed += [UInt8](repeating: 0, count: 512 - paxData.count)
        renamed += Hostile.tar([("harmless", Op.proto2 + Op.emptyDict + Op.stop)])
        let report = try Hostile.scan(renamed, name: "m.pt")
        XCTAssertTrue(report.findings.contains { $0.kind == .malformedArchive && $0.message.contains("\"path\"") }, "\(report.findings)")
    }

    func testLegacyTorchTarClass_everyPickleMemberIsScanned() throws {
        // Old v7 header (no ustar magic) and a name with no model extension: still found in a directory walk.
        let dir = try TestSupport.makeTemporaryDirectory("legacy-tar")
        let path = try Hostile.write(checkpoint(pickle: Hostile.systemPickle("echo tar"), ustar: false), name: "checkpoint.weights", in: dir)
        let report = ModelScanner.scan(paths: [dir.path])
        XCTAssertEqual(report.skipped, [])
        let file = try XCTUnwrap(report.files.first)
        XCTAssertEqual(file.format, .pytorchTar)
        XCTAssertTrue(file.findings.contains { $0.kind == .dangerousGlobal && $0.location.hasSuffix(":pickle") }, "\(file.findings)")
        let outcome = try RealLoader.load(path, with: "tarfile")
        XCTAssertEqual(outcome.systemCalls, ["echo tar"], outcome.error ?? "")

        // The storages and tensors members are pickles too.
        var evilStorages = storages
        evilStorages.replaceSubrange(0..<(Op.proto2 + Op.int(1) + Op.stop).count,
                                     with: Op.proto2 + Op.global("os", "system") + Op.unicode("x") + Op.tuple1 + Op.reduce + Op.pop + Op.int(1) + Op.stop)
        let tar = Hostile.tar([("pickle", Op.proto2 + Op.emptyDict + Op.stop), ("storages", evilStorages), ("tensors", tensors)])
        let storagesReport = try Hostile.scan(tar, name: "model.pt")
        XCTAssertTrue(storagesReport.findings.contains { $0.kind == .dangerousGlobal && $0.location.contains(":storages#1") }, "\(storagesReport.findings)")
    }

    func testLegacyTorchTarClass_layoutThatCannotBeFollowedIsAFinding() throws {
        var shortStorages = storages
        shortStorages.removeLast(4)
        let cases: [(String, [UInt8])] = [
            ("truncated storage data", Hostile.tar([("pickle", Op.proto2 + Op.emptyDict + Op.stop), ("storages", Array(storages.prefix(60)))])),
            ("unknown storage type", Hostile.tar([("storages", Op.proto2 + Op.int(1) + Op.stop + Op.proto2 + Op.unicode("0") + Op.unicode("cpu")
                                                   + Op.global("torch", "WeirdStorage") + Op.tuple3 + Op.stop)])),
            ("trailing bytes", Hostile.tar([("tensors", tensors + [0x41])])),
        ]
        for (label, bytes) in cases {
            let report = try Hostile.scan(bytes, name: "model.pt")
            XCTAssertFalse(report.isClean, label)
            XCTAssertTrue(report.findings.contains { $0.severity != .suspicious }, "\(label): \(report.findings)")
        }
    }

    func testLegacyTorchTarClass_ambiguousTarArchivesAreRefused() throws {
        let pickle = Op.proto2 + Op.emptyDict + Op.stop
        let duplicate = Hostile.tar([("pickle", pickle), ("pickle", Hostile.systemPickle())])
        XCTAssertTrue(try Hostile.scan(duplicate, name: "m.pt").findings.contains { $0.kind == .malformedArchive && $0.message.contains("duplicate") })
        // A symbolic link member: tarfile's extractfile("pickle") would follow it to another member.
        var link = Hostile.tarHeader(name: "pickle", size: 0, type: UInt8(ascii: "2"), linkName: "other")
        link += Hostile.tarHeader(name: "other", size: pickle.count) + pickle + [UInt8](repeating: 0, count: 512 - pickle.count)
        link += [UInt8](repeating: 0, count: 1024)
        XCTAssertTrue(try Hostile.scan(link, name: "m.pt").findings.contains { $0.kind == .malformedArchive && $0.message.contains("type") })
        // A pax extended header that describes no member, and a global pax header.
        let pax = Hostile.tarHeader(name: "PaxHeader", size: 0, type: UInt8(ascii: "x")) + [UInt8](repeating: 0, count: 1024)
        XCTAssertTrue(try Hostile.scan(pax, name: "m.pt").findings.contains { $0.kind == .malformedArchive })
        let global = Hostile.tarHeader(name: "PaxHeader", size: 0, type: UInt8(ascii: "g")) + [UInt8](repeating: 0, count: 1024)
        XCTAssertTrue(try Hostile.scan(global, name: "m.pt").findings.contains { $0.kind == .malformedArchive })
        // Data after the members that is not the end-of-archive block.
        let trailing = Array(Hostile.tar([("pickle", pickle)]).dropLast(1024)) + Hostile.tarHeader(name: "x", size: 0).map { $0 ^ 0x01 } + [UInt8](repeating: 0, count: 1024)
        XCTAssertTrue(try Hostile.scan(trailing, name: "m.pt").findings.contains { $0.kind == .malformedArchive && $0.message.contains("checksum") })
    }

    func testLegacyTorchTarClass_tarThatIsAlsoAPickleIsReadBothWays() throws {
        // The first member's name is a protocol 0 pickle: pickle.load/joblib.load run it, torch reads a tar.
        let name = String(decoding: Hostile.systemPickle("echo polyglot"), as: UTF8.self)
        let bytes = Hostile.tar([(name, [0x41]), ("pickle", Op.proto2 + Op.emptyDict + Op.stop)])
        let path = try Hostile.write(bytes, name: "model.bin")
        let report = ModelScanner.scanFile(at: path)
        XCTAssertEqual(report.format, .pytorchTar)
        XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.global == "os.system" }, "\(report.findings)")
        let outcome = try RealLoader.load(path, with: "pickle")
        XCTAssertEqual(outcome.systemCalls, ["echo polyglot"], outcome.error ?? "")

        // A pickle whose first block is also a valid tar header: an error finding, and the tar side is scanned.
        var header = Hostile.tarHeader(name: "pickle", size: 0)
        header[0] = 0x80; header[1] = 0x02; header[2] = 0x4E; header[3] = 0x2E   // PROTO 2, NONE, STOP
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        header.replaceSubrange(148..<156, with: Array(String(format: "%06o\0 ", sum).utf8))
        XCTAssertTrue(TarArchive.isHeader(header))
        let polyglot = try Hostile.scan(header + [UInt8](repeating: 0, count: 1024), name: "p.pkl")
        XCTAssertEqual(polyglot.format, .pickle)
        XCTAssertTrue(polyglot.findings.contains { $0.kind == .malformedArchive && $0.message.contains("also a tar archive") }, "\(polyglot.findings)")
    }

    func testLegacyTorchTarClass_headerDetectionMatchesPythonTarfile() throws {
        // tarfile reads the checksum with int(text, 8): signs, 0o prefixes and underscores count.
        XCTAssertEqual(TarArchive.pythonNumber(ArraySlice(Array("0001234\0".utf8))), 0o1234)
        XCTAssertEqual(TarArchive.pythonNumber(ArraySlice(Array(" +0o1_2\0".utf8))), 0o12)
        XCTAssertEqual(TarArchive.pythonNumber(ArraySlice(Array("0o_17   ".utf8))), 0o17)
        XCTAssertEqual(TarArchive.pythonNumber(ArraySlice(Array("\0\0\0\0\0\0\0\0".utf8))), 0)
        XCTAssertNil(TarArchive.pythonNumber(ArraySlice(Array("12__3\0  ".utf8))))
        XCTAssertNil(TarArchive.pythonNumber(ArraySlice(Array("_123\0   ".utf8))))
        XCTAssertNil(TarArchive.pythonNumber(ArraySlice(Array("0128\0   ".utf8))))
        XCTAssertEqual(TarArchive.pythonNumber(ArraySlice([0x80, 0, 0, 0, 0, 0, 0x01, 0x02])), 0x0102)
        // Cross-check against Python: a header whose checksum is written "+0o_..." opens in tarfile and is detected here.
        var header = Hostile.tarHeader(name: "pickle", size: 3, ustar: false)
        header.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = header.reduce(0) { $0 + Int($1) }
        let odd = Array(String(format: "+0o_%o", sum).utf8)
        XCTAssertLessThanOrEqual(odd.count, 8)
        header.replaceSubrange(148..<(148 + odd.count), with: odd)
        XCTAssertTrue(TarArchive.isHeader(header))
        let path = try Hostile.write(header + Array("N.\n".utf8) + [UInt8](repeating: 0, count: 509 + 1024), name: "odd.tar")
        let outcome = try RealLoader.load(path, with: "tarfile")
        XCTAssertEqual(outcome.detail, "pickle", outcome.error ?? "")
        XCTAssertEqual(ModelScanner.scanFile(at: path).format, .pytorchTar)
    }
}
