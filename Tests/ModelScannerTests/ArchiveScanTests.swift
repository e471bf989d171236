import XCTest
import TestSupport
@testable import ModelScanner

/// PyTorch zip checkpoints, .npy, .npz and the strict zip reader.
final class ArchiveScanTests: XCTestCase {
    private func fixture(_ name: String) throws -> URL {
        try ScannerFixtures.directory().appendingPathComponent(name)
    }

    private func scan(_ name: String) throws -> FileScanReport {
        ModelScanner.scanFile(at: try fixture(name).path)
    }

    private func scanBytes(_ bytes: [UInt8], name: String = "sample.pt") throws -> FileScanReport {
        let url = try TestSupport.makeTemporaryDirectory("scanner").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return ModelScanner.scanFile(at: url.path)
    }

    func testBenignTorchZipIsCleanWhateverTheExtensionAndCompression() throws {
        for name in ["model.pt", "model_deflated.pth"] {
            let report = try scan(name)
            XCTAssertEqual(report.format, .pytorchZip, name)
            XCTAssertEqual(report.findings, [], name)
            XCTAssertEqual(report.streams.map(\.location), ["\(try fixture(name).path):archive/data.pkl"])
            XCTAssertEqual(Set(report.streams[0].globals.map(\.qualifiedName)),
                           ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"])
        }
    }

    func testMaliciousTorchZipIsDangerous() throws {
        for name in ["pytorch_model.bin", "evil_deflated.ckpt"] {
            let report = try scan(name)
            XCTAssertEqual(report.format, .pytorchZip, name)
            XCTAssertEqual(report.findings.map(\.kind), [.dangerousGlobal], name)
            XCTAssertEqual(report.findings[0].location, "\(try fixture(name).path):archive/data.pkl")
            XCTAssertTrue(["posix.system", "nt.system"].contains(report.findings[0].global ?? ""))
            // The benign globals are still listed, and classified safe.
            XCTAssertEqual(report.streams[0].globals.filter { $0.classification == .safe }.count, 3)
        }
    }

    func testObjectNpyIsScannedAndPlainNpyIsClean() throws {
        let objects = try scan("objects.npy")
        XCTAssertEqual(objects.format, .npy)
        XCTAssertEqual(objects.findings, [])
        XCTAssertEqual(objects.streams.count, 1)
        let names = Set(objects.streams[0].globals.map(\.qualifiedName))
        XCTAssertTrue(names.contains("collections.OrderedDict"), "\(names)")
        XCTAssertTrue(names.contains("numpy.dtype"), "\(names)")

        let evil = try scan("evil_objects.npy")
        XCTAssertEqual(evil.findings.map(\.kind), [.dangerousGlobal])

        let floats = try scan("floats.npy")
        XCTAssertEqual(floats.format, .npy)
        XCTAssertEqual(floats.streams.count, 0)
        XCTAssertEqual(floats.findings, [])
        // A float array whose data is short of what the header says is malformed.
        let bytes = try FileIO_read(try fixture("floats.npy"))
        let cut = try scanBytes(Array(bytes.dropLast(4)), name: "cut.npy")
        XCTAssertEqual(cut.findings.map(\.kind), [.malformedNumpy])
    }

    func testNpzMembersAreScanned() throws {
        let evil = try scan("evil.npz")
        XCTAssertEqual(evil.format, .npz)
        XCTAssertEqual(evil.findings.map(\.kind), [.dangerousGlobal])
        XCTAssertEqual(evil.findings[0].location, "\(try fixture("evil.npz").path):evil.npy")

        let benign = try scan("benign.npz")
        XCTAssertEqual(benign.format, .npz)
        XCTAssertEqual(benign.findings, [])
        XCTAssertEqual(benign.streams.count, 1)   // only the object member carries a pickle
    }

    func testLegacyTarCheckpointWrittenByTarfileIsClean() throws {
        let report = try scan("legacy.pth.tar")
        XCTAssertEqual(report.format, .pytorchTar)
        XCTAssertEqual(report.findings, [])
        XCTAssertTrue(report.streams.contains { $0.location.hasSuffix(":pickle") && $0.globals.contains { $0.name == "_rebuild_tensor_v2" } })
    }

    func testLegacyTorchFilesAreScannedStreamByStream() throws {
        let benign = try scan("legacy.pt")
        XCTAssertEqual(benign.format, .pytorchLegacy)
        XCTAssertEqual(benign.streams.count, 5)
        XCTAssertEqual(benign.findings, [])
        XCTAssertEqual(Set(benign.streams[3].globals.map(\.qualifiedName)),
                       ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"])
        let evil = try scan("legacy_evil.pt")
        XCTAssertEqual(evil.findings.map(\.kind), [.dangerousGlobal])
        XCTAssertTrue(evil.findings[0].location.hasSuffix("#4"), evil.findings[0].location)
    }

    func testLargeNumericNpzMembersNeedOnlyTheirHeaders() throws {
        let report = try scan("large.npz")
        XCTAssertEqual(report.format, .npz)
        XCTAssertEqual(report.findings, [])
        var tight = ScanLimits()
        tight.maxPickleBytes = 1 << 20   // far below the 24 MB member: it must not be read whole
        XCTAssertEqual(ModelScanner.scanFile(at: try fixture("large.npz").path, limits: tight).findings, [])
        // A deflated object member above the in-memory limit is a resource-limit finding, not a skip.
        let tiny = { var l = ScanLimits(); l.maxPickleBytes = 16; return l }()
        XCTAssertEqual(ModelScanner.scanFile(at: try fixture("evil.npz").path, limits: tiny).findings.map(\.kind), [.resourceLimit])
        XCTAssertTrue(ModelScanner.scanFile(at: try fixture("evil_deflated.ckpt").path, limits: tiny).findings.contains { $0.kind == .resourceLimit })
        // A stored pickle member is read in place whatever the in-memory limit: still caught.
        let stored = try Hostile.write(Hostile.zip([Hostile.ZipMember(name: "archive/data.pkl", data: Hostile.systemPickle())]), name: "stored.pt")
        XCTAssertEqual(ModelScanner.scanFile(at: stored, limits: tiny).findings.map(\.kind), [.dangerousGlobal])
    }

    // MARK: zip structure, failing closed

    /// Offsets of the first local header and central directory entry named `name`.
    private func offsets(of name: String, in bytes: [UInt8]) -> (local: Int, central: Int) {
        let needle = Array(name.utf8)
        var local = -1, central = -1
        for i in 0..<(bytes.count - 46) {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x03, bytes[i + 3] == 0x04, local < 0,
               Array(bytes[(i + 30)..<(i + 30 + needle.count)]) == needle { local = i }
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x01, bytes[i + 3] == 0x02, central < 0,
               Array(bytes[(i + 46)..<(i + 46 + needle.count)]) == needle { central = i }
        }
        return (local, central)
    }

    /// Rewrites a small archive's end records the way miniz (PyTorch's writer) does in
    /// zip64 mode: a zip64 end-of-central-directory record and locator, then a classic
    /// record whose fields are saturated.
    private func zip64Variant(of bytes: [UInt8]) -> [UInt8] {
        let eocd = bytes.count - 22
        let entries = UInt64(le16(bytes, eocd + 10)), cdSize = UInt64(le32(bytes, eocd + 12))
        let cdOffset = UInt64(le32(bytes, eocd + 16))
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var out = Array(bytes.prefix(eocd))
        let zip64Offset = UInt64(out.count)
        out += u32(0x0606_4B50) + u64(44) + u16(45) + u16(45) + u32(0) + u32(0) + u64(entries) + u64(entries) + u64(cdSize) + u64(cdOffset)
        out += u32(0x0706_4B50) + u32(0) + u64(zip64Offset) + u32(1)
        out += u32(0x0605_4B50) + u16(0xFFFF) + u16(0xFFFF) + u16(0xFFFF) + u16(0xFFFF) + u32(0xFFFF_FFFF) + u32(0xFFFF_FFFF) + u16(0)
        return out
    }

    func testZip64EndRecordsAreRead() throws {
        let benign = try scanBytes(zip64Variant(of: try FileIO_read(try fixture("model.pt"))))
        XCTAssertEqual(benign.format, .pytorchZip)
        XCTAssertEqual(benign.findings, [])
        XCTAssertEqual(benign.streams.count, 1)
        let evil = try scanBytes(zip64Variant(of: try FileIO_read(try fixture("pytorch_model.bin"))))
        XCTAssertEqual(evil.findings.map(\.kind), [.dangerousGlobal])
        // Saturated classic fields without the zip64 records are rejected.
        var broken = zip64Variant(of: try FileIO_read(try fixture("model.pt")))
        broken.removeSubrange((broken.count - 42)..<(broken.count - 22))   // drop the locator
        XCTAssertEqual(try scanBytes(broken).findings.map(\.kind), [.malformedArchive])
    }

    func testEncryptedEntryIsUnreadable() throws {
        var bytes = try FileIO_read(try fixture("model.pt"))
        let (local, central) = offsets(of: "archive/data.pkl", in: bytes)
        bytes[local + 6] |= 1
        bytes[central + 8] |= 1
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.unreadableEntry])
        XCTAssertTrue(report.findings[0].message.contains("encrypted"))
        XCTAssertEqual(report.streams.count, 0)
    }

    func testUnsupportedCompressionIsUnreadable() throws {
        var bytes = try FileIO_read(try fixture("model.pt"))
        let (local, central) = offsets(of: "archive/data/0", in: bytes)
        bytes[local + 8] = 14
        bytes[central + 10] = 14   // LZMA
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.unreadableEntry])
        XCTAssertTrue(report.findings[0].location.hasSuffix(":archive/data/0"))
    }

    func testCorruptedEntryDataFailsTheCRC() throws {
        var bytes = try FileIO_read(try fixture("model.pt"))
        let (local, _) = offsets(of: "archive/data.pkl", in: bytes)
        let dataStart = local + 30 + Int(bytes[local + 26]) + (Int(bytes[local + 28]) | Int(bytes[local + 29]) << 8)
        bytes[dataStart + 10] ^= 0x01
        let report = try scanBytes(bytes)
        XCTAssertTrue(report.findings.contains { $0.kind == .unreadableEntry && $0.message.contains("CRC") }, "\(report.findings)")
    }

    func testLocalHeaderThatDisagreesWithTheCentralDirectoryIsRejected() throws {
        var bytes = try FileIO_read(try fixture("model.pt"))
        let (local, _) = offsets(of: "archive/data.pkl", in: bytes)
        bytes[local + 30 + 8] = UInt8(ascii: "X")   // archive/Xata.pkl in the local header only
        let report = try scanBytes(bytes)
        // The whole archive is refused: streaming readers would read another name.
        XCTAssertEqual(report.findings.map(\.kind), [.malformedArchive])
        XCTAssertTrue(report.findings[0].message.contains("local header"))
    }

    func testTruncatedOrPaddedArchivesAreMalformed() throws {
        let bytes = try FileIO_read(try fixture("model.pt"))
        for cut in [bytes.count - 1, bytes.count - 30, bytes.count / 2, 10] {
            let report = try scanBytes(Array(bytes.prefix(cut)))
            XCTAssertEqual(report.findings.map(\.kind), [.malformedArchive], "cut at \(cut)")
        }
        let appended = try scanBytes(bytes + [0, 0, 0, 0])
        XCTAssertEqual(appended.findings.map(\.kind), [.malformedArchive])
        let prepended = try scanBytes([0x50, 0x4B, 0x03, 0x04] + bytes)
        XCTAssertEqual(prepended.findings.map(\.kind), [.malformedArchive])
    }

    func testDuplicateEntryNamesAreMalformed() throws {
        var bytes = try FileIO_read(try fixture("model.pt"))
        // Rename archive/byteorder to archive/data.pkx then ..., simpler: make data/1 a second data/0.
        let (local, central) = offsets(of: "archive/data/1", in: bytes)
        bytes[local + 30 + 13] = UInt8(ascii: "0")
        bytes[central + 46 + 13] = UInt8(ascii: "0")
        let report = try scanBytes(bytes)
        XCTAssertEqual(report.findings.map(\.kind), [.malformedArchive])
        XCTAssertTrue(report.findings[0].message.contains("duplicate"))
    }

    func testZipWithoutModelContentAndUnknownFilesAreFindings() throws {
        let dir = try TestSupport.makeTemporaryDirectory("scanner")
        let script = "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w'); z.writestr('readme.txt','hi'); z.close()"
        let zipURL = dir.appendingPathComponent("other.zip")
        XCTAssertEqual(try TestSupport.run("python3", ["-c", script, zipURL.path]).status, 0)
        let report = ModelScanner.scanFile(at: zipURL.path)
        XCTAssertEqual(report.format, .zip)
        XCTAssertEqual(report.findings.map(\.kind), [.unknownFormat])

        let text = dir.appendingPathComponent("weights.bin")
        try Data("just some text, not a model".utf8).write(to: text)
        XCTAssertEqual(ModelScanner.scanFile(at: text.path).findings.map(\.kind), [.unknownFormat])
        let empty = dir.appendingPathComponent("empty.pkl")
        try Data().write(to: empty)
        XCTAssertEqual(ModelScanner.scanFile(at: empty.path).findings.map(\.kind), [.unknownFormat])
    }

    // MARK: inflate

    func testInflateMatchesZlibAndRejectsCorruption() throws {
        let blob = try FileIO_read(try fixture("raw-deflate.bin"))
        let plain = try FileIO_read(try fixture("raw-deflate.plain"))
        var cursor = 0, streams = 0
        while cursor < blob.count {
            let compressedLength = Int(le32(blob, cursor)), plainLength = Int(le32(blob, cursor + 4))
            let stream = Array(blob[(cursor + 8)..<(cursor + 8 + compressedLength)])
            XCTAssertEqual(plainLength, plain.count)
            XCTAssertEqual(try Inflate.decompress(stream, limit: plain.count), plain)
            XCTAssertThrowsError(try Inflate.decompress(stream, limit: plain.count - 1))
            XCTAssertThrowsError(try Inflate.decompress(Array(stream.prefix(stream.count / 2)), limit: plain.count))
            cursor += 8 + compressedLength
            streams += 1
        }
        XCTAssertEqual(streams, 4)
        let first = Array(blob[8..<(8 + Int(le32(blob, 0)))])
        XCTAssertEqual(try Inflate.prefix(first, count: 1000), Array(plain.prefix(1000)))
        XCTAssertEqual(try Inflate.prefix(Array(first.prefix(first.count / 2)), count: 100), Array(plain.prefix(100)))
        XCTAssertThrowsError(try Inflate.decompress([0x07], limit: 10))   // block type 3
        XCTAssertThrowsError(try Inflate.decompress([0x01, 0x05, 0x00, 0xFA, 0xFF], limit: 10))   // LEN/NLEN mismatch
    }
}

/// Hostile-input robustness: thousands of mutated samples of every format are
/// scanned; a crash, trap or hang fails the run, and a mutation inside a pickle
/// stream is never reported clean unless the stream still parses.
final class MutationTests: XCTestCase {
    func testMutatedSamplesNeverCrash() throws {
        let dir = try ScannerFixtures.directory()
        let scratch = try TestSupport.makeTemporaryDirectory("scanner-mutations")
        var rng = SplitMix64(seed: 0x5EED)
        for name in ["model_deflated.pth", "pytorch_model.bin", "evil.npz", "objects.npy", "model.safetensors",
                     "state_dict.pkl", "evil_p0.pkl", "model.joblib", "legacy.pt", "legacy.pth.tar", "evil.joblib", "benign.npz"] {
            let original = try FileIO_read(dir.appendingPathComponent(name))
            for round in 0..<150 {
                var bytes = original
                for _ in 0...(round % 4) {
                    let index = Int.random(in: 0..<bytes.count, using: &rng)
                    switch round % 3 {
                    case 0: bytes[index] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes[index] ^= 0x80
                    default: bytes[index] = [0x00, 0xFF, 0x7F, 0x80][Int.random(in: 0..<4, using: &rng)]
                    }
                }
                let url = scratch.appendingPathComponent("m-\(name)")
                try Data(bytes).write(to: url)
                let report = ModelScanner.scanFile(at: url.path)
                XCTAssertEqual(report.path, url.path)
                if report.isClean {
                    // A clean verdict must come from complete streams only.
                    XCTAssertTrue(report.streams.allSatisfy(\.complete), "\(name) round \(round)")
                }
            }
        }
    }
}
