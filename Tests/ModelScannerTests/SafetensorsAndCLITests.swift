import XCTest
import TestSupport
@testable import ModelScanner

/// .safetensors structure, directory walking and the `modelsec scan` command.
final class SafetensorsAndCLITests: XCTestCase {
    private func fixture(_ name: String) throws -> URL {
        try ScannerFixtures.directory().appendingPathComponent(name)
    }

    private func safetensors(header: String, data: [UInt8], lengthAdjust: Int = 0) throws -> FileScanReport {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: UInt64(json.count + lengthAdjust).littleEndian, Array.init)
        bytes += json + data
        let url = try TestSupport.makeTemporaryDirectory("scanner").appendingPathComponent("m.safetensors")
        try Data(bytes).write(to: url)
        return ModelScanner.scanFile(at: url.path)
    }

    /// A header of 0x480 bytes makes the file start with `80 04`, a pickle PROTO:
    /// it is read as safetensors (clean) and as a pickle (which imports nothing).
    func testSafetensorsWhoseHeaderLengthLooksLikeAPickleProtocolIsReadAsSafetensors() throws {
        var header = #"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#
        header += String(repeating: " ", count: 0x480 - header.utf8.count)
        let report = try safetensors(header: header, data: [1, 2, 3, 4])
        XCTAssertEqual(report.format, .safetensors)
        XCTAssertEqual(report.findings, [])
    }

    func testSafetensorsWrittenByTheLibraryIsClean() throws {
        let report = ModelScanner.scanFile(at: try fixture("model.safetensors").path)
        XCTAssertEqual(report.format, .safetensors)
        XCTAssertEqual(report.findings, [])
    }

    func testCorruptedSafetensorsAreFindings() throws {
        let data = [UInt8](repeating: 0, count: 24)
        let good = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[8],"data_offsets":[16,24]}}"#
        XCTAssertEqual(try safetensors(header: good, data: data).findings, [])

        let cases: [(String, String, [UInt8], Int, String)] = [
            ("overlap", #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[8],"data_offsets":[8,16]}}"#, Array(data.prefix(16)), 0, "overlaps"),
            ("past end", #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[16],"data_offsets":[16,32]}}"#, data, 0, "past the"),
            ("gap", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[16,24]}}"#, data, 0, "gap"),
            ("uncovered tail", #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, data, 0, "not covered"),
            ("shape mismatch", #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[8],"data_offsets":[16,24]}}"#, data, 0, "does not match"),
            ("unknown dtype", #"{"a":{"dtype":"F13","shape":[4],"data_offsets":[0,24]}}"#, data, 0, "unknown dtype"),
            ("reversed offsets", #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[24,0]}}"#, data, 0, "begin <= end"),
            ("not json", #"{"a": nope}"#, data, 0, "not valid JSON"),
            ("negative shape", #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,24]}}"#, data, 0, "not valid JSON"),
            ("bad metadata", #"{"__metadata__":{"k":1},"a":{"dtype":"U8","shape":[24],"data_offsets":[0,24]}}"#, data, 0, "not valid JSON"),
            ("header length past end", good, data, 1000, "past the end"),
            // Read two ways: serde_json and JSONDecoder may keep different values of a repeated name,
            // and "é" as one scalar or as e + U+0301 is two tensors to the library but one key to Swift.
            ("repeated tensor", #"{"a":{"dtype":"U8","shape":[24],"data_offsets":[0,24]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, data, 0, "duplicate key"),
            ("one name, two spellings", "{\"\u{E9}\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},\"e\u{301}\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[16,24]}}", data, 0, "reads one way"),
        ]
        for (label, header, bytes, adjust, expected) in cases {
            let report = try safetensors(header: header, data: bytes, lengthAdjust: adjust)
            XCTAssertFalse(report.findings.isEmpty, label)
            XCTAssertTrue(report.findings.allSatisfy { $0.kind == .malformedSafetensors && $0.severity == .error }, label)
            XCTAssertTrue(report.findings.contains { $0.message.contains(expected) }, "\(label): \(report.findings.map(\.message))")
        }
    }

    /// A header of millions of small values (here one shape of 1.1 million
    /// dimensions, about 2 MiB) is refused by its count before JSONDecoder
    /// builds a tree of it (over 10 times its size, in every scanning lane).
    func testAHeaderOfMillionsOfValuesIsMalformedWithoutDecodingIt() throws {
        var header = #"{"a":{"dtype":"U8","data_offsets":[0,1],"shape":["#
        header += String(repeating: "1,", count: 1_100_000) + "1]}}"
        var report: FileScanReport?
        let growth = try TestSupport.peakResidentGrowthMiB { report = try safetensors(header: header, data: [0]) }
        let findings = try XCTUnwrap(report).findings
        XCTAssertEqual(findings.map(\.kind), [.malformedSafetensors], "\(findings.map(\.message))")
        XCTAssertTrue(findings.first?.message.contains("more than \(SafetensorsChecker.maximumHeaderValues) JSON values") == true, "\(findings.map(\.message))")
        XCTAssertLessThan(growth, 40, "the peak grew by \(growth) MiB scanning a \(header.utf8.count >> 20) MiB header")
    }

    func testDirectoryWalkScansModelsAndListsSkippedFiles() throws {
        let dir = try TestSupport.makeTemporaryDirectory("scanner-walk")
        let sub = dir.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try fixture("model.pt"), to: sub.appendingPathComponent("model.pt"))
        try FileManager.default.copyItem(at: try fixture("evil_p4.pkl"), to: sub.appendingPathComponent("optimizer.state"))
        try Data(#"{"hidden": 4}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let report = ModelScanner.scan(paths: [dir.path])
        XCTAssertEqual(report.files.map { ($0.path as NSString).lastPathComponent }, ["model.pt", "optimizer.state"])
        XCTAssertEqual(report.skipped.map { ($0 as NSString).lastPathComponent }, ["config.json"])
        XCTAssertEqual(report.summary.dangerous, 1)
        XCTAssertEqual(report.exitCode, 1)
    }

    func testCLIExitCodesAndJSON() throws {
        let clean = try TestSupport.modelsec(["scan", try fixture("model.pt").path, try fixture("model.safetensors").path])
        XCTAssertEqual(clean.status, 0, clean.stderrText)
        XCTAssertTrue(clean.stdoutText.contains("2 file(s)"), clean.stdoutText)

        let evil = try TestSupport.modelsec(["scan", "--json", try fixture("model.pt").path, try fixture("pytorch_model.bin").path])
        XCTAssertEqual(evil.status, 1)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: evil.stdout) as? [String: Any])
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(summary["dangerous"] as? Int, 1)
        XCTAssertEqual(summary["clean"] as? Bool, false)
        let files = try XCTUnwrap(json["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["format"] as? String }, ["pytorch-zip", "pytorch-zip"])
        let findings = try XCTUnwrap(files[1]["findings"] as? [[String: Any]])
        XCTAssertEqual(findings.first?["kind"] as? String, "dangerous-global")
        XCTAssertTrue(evil.stderrText.contains("1 dangerous"), evil.stderrText)

        let truncated = try TestSupport.makeTemporaryDirectory("scanner").appendingPathComponent("cut.pkl")
        try Data(try FileIO_read(try fixture("state_dict.pkl")).prefix(20)).write(to: truncated)
        XCTAssertEqual(try TestSupport.modelsec(["scan", truncated.path]).status, 1)

        let missing = try TestSupport.modelsec(["scan", "/nonexistent/model.pt", try fixture("model.pt").path])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderrText.contains("/nonexistent/model.pt"), missing.stderrText)
        XCTAssertEqual(try TestSupport.modelsec(["scan"]).status, 2)
    }
}
