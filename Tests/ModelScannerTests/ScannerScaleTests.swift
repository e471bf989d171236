import Foundation
import XCTest
import TestSupport
@testable import ModelScanner

/// The scanner at model scale: peak memory of `modelsec scan` (measured by
/// the kernel for the child process, `/usr/bin/time -f %M`) stays under
/// 64 MiB whatever the file size, because files are read through a bounded
/// window and tensor data is skipped; and a directory of 1,000 shards scans fast.
final class ScannerScaleTests: XCTestCase {
    /// The ceiling from issue #16.
    static let ceilingKiB = 64 * 1024
    /// Size of each sparse file: larger than the ceiling many times over.
    static let bigSize: UInt64 = 3 << 30

    /// Exit status and peak resident set size (KiB) of `modelsec scan path`.
    private func measuredScan(_ path: String) throws -> (status: Int32, peakKiB: Int) {
        let out = try TestSupport.makeTemporaryDirectory("rss").appendingPathComponent("time.txt")
        let result = try TestSupport.run("/usr/bin/time", ["-f", "%M", "-o", out.path, TestSupport.modelsecBinary.path, "scan", path])
        let text = try String(contentsOf: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let kib = Int(text.split(separator: "\n").last ?? "") else {
            throw ScannerFixtures.FixtureError(message: "cannot read /usr/bin/time output: \(text)")
        }
        return (result.status, kib)
    }

    /// A sparse file: `head`, a hole up to `size - tail.count`, then `tail`.
    private func sparse(_ name: String, head: [UInt8], size: UInt64, tail: [UInt8] = [], in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(head))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: size - UInt64(tail.count))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(tail))
        try handle.close()
        return url.path
    }

    private func le64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    private func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    func testScanPeakMemoryIsBoundedWhateverTheFileSize() throws {
        // A sanitizer's shadow memory is part of the child's peak RSS (about
        // 94-101 MiB under ThreadSanitizer for scans that stay under 64 MiB
        // without it): the ceiling says nothing there.
        if let sanitizer = TestSupport.sanitizer { throw XCTSkip("peak RSS under \(sanitizer) includes its shadow memory") }
        let dir = try TestSupport.makeTemporaryDirectory("scale")
        let size = ScannerScaleTests.bigSize
        // Weights of a format the scanner does not know: classified from the first bytes only.
        let unknown = try sparse("weights.bin", head: [0x00, 0x01, 0x02], size: size, in: dir)
        // A pickle holding one huge bytes object: the stream is followed through a window.
        let payload = size - 12
        let pickle = try sparse("big.pkl", head: [0x80, 0x04, 0x8E] + le64(payload), size: size, tail: [0x2E], in: dir)
        // A safetensors file with one huge tensor: only the header is read.
        let header = Array("{\"w\":{\"dtype\":\"U8\",\"shape\":[SIZE],\"data_offsets\":[0,SIZE]}}".utf8)
        let headerText = String(decoding: header, as: UTF8.self)
        let padded = Array(headerText.replacingOccurrences(of: "SIZE", with: "\(size - 8 - 128)").utf8)
        let st = padded + Array(repeating: 0x20, count: 128 - padded.count)
        let safetensors = try sparse("big.safetensors", head: le64(128) + st, size: size, in: dir)
        // A GGUF file with metadata and one tensor: the tensor data is skipped.
        var gguf = Array("GGUF".utf8) + le32(3) + le64(1) + le64(1)
        let key = Array("general.name".utf8), value = Array("big".utf8)
        gguf += le64(UInt64(key.count)) + key + le32(8) + le64(UInt64(value.count)) + value
        let tensor = Array("w".utf8)
        gguf += le64(UInt64(tensor.count)) + tensor + le32(1) + le64(size / 2) + le32(0) + le64(0)
        let ggufPath = try sparse("big.gguf", head: gguf, size: size, in: dir)

        for (path, expected) in [(unknown, Int32(1)), (pickle, 0), (safetensors, 0), (ggufPath, 0)] {
            let (status, peak) = try measuredScan(path)
            XCTAssertEqual(status, expected, path)
            XCTAssertLessThanOrEqual(peak, ScannerScaleTests.ceilingKiB, "\(path): peak RSS \(peak) KiB")
        }
        // The whole directory at once (files scanned on all cores).
        let (status, peak) = try measuredScan(dir.path)
        XCTAssertEqual(status, 1)
        XCTAssertLessThanOrEqual(peak, ScannerScaleTests.ceilingKiB, "directory: peak RSS \(peak) KiB")
    }

    func testAThousandSafetensorsShardsScanQuicklyInBoundedMemory() throws {
        // A sanitizer's shadow memory is part of the child's peak RSS (about
        // 94-101 MiB under ThreadSanitizer for scans that stay under 64 MiB
        // without it): the ceiling says nothing there.
        if let sanitizer = TestSupport.sanitizer { throw XCTSkip("peak RSS under \(sanitizer) includes its shadow memory") }
        let dir = try TestSupport.makeTemporaryDirectory("shards")
        for index in 0..<1_000 {
            var json = "{\"__metadata__\":{\"format\":\"pt\"}"
            for t in 0..<20 { json += ",\"layer.\(t).weight\":{\"dtype\":\"F16\",\"shape\":[64,64],\"data_offsets\":[\(t * 8192),\(t * 8192 + 8192)]}" }
            json += "}"
            let header = Array(json.utf8)
            _ = try sparse(String(format: "model-%05d-of-01000.safetensors", index + 1), head: le64(UInt64(header.count)) + header,
                           size: UInt64(8 + header.count + 20 * 8192), in: dir)
        }
        let start = Date()
        let (status, peak) = try measuredScan(dir.path)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(status, 0)
        XCTAssertLessThanOrEqual(peak, ScannerScaleTests.ceilingKiB, "peak RSS \(peak) KiB")
        // The release build must take under 2 s (Benchmarks/bench-scanner-scale.sh); a debug build gets a generous bound.
        XCTAssertLessThan(elapsed, 30, "1,000 shards took \(elapsed) s")
    }
}
