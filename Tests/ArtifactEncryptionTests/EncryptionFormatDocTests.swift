import Foundation
import TestSupport
import XCTest

/// Statements of docs/encryption-format.md checked against files the
/// `modelsec` command really writes: the worked example's sizes and the
/// exit codes of truncation inside and after the header.
final class EncryptionFormatDocTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory("modelsec-encdoc")
        try ok(["keygen", "--type", "x25519", "--out", path("alice.pem")])
        try ok(["keygen", "--type", "aes256", "--out", path("kms.key")])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.modelsec(args)
        XCTAssertEqual(r.status, 0, "modelsec \(args.joined(separator: " ")): \(r.stderrText)", file: file, line: line)
        return r
    }

    /// `n` with thousands separators, as the document writes numbers.
    func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    func testWorkedExampleArithmeticMatchesARealFile() throws {
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: path("plain.bin")))
        try ok(["encrypt", path("plain.bin"), "-o", path("example.enc"), "--recipient", path("alice.pem.pub"),
                "--key-file", path("kms.key")])
        let info = try JSONSerialization.jsonObject(with: try ok(["inspect-encrypted", path("example.enc"), "--json"]).stdout) as! [String: Any]
        let size = try FileManager.default.attributesOfItem(atPath: path("example.enc"))[.size] as! Int
        let header = info["headerSize"] as! Int, chunks = info["chunkCount"] as! Int
        XCTAssertEqual(header, 47 + (3 + 80) + (3 + 64) + 32)
        XCTAssertEqual(chunks, 4)
        let full = 65_536 + 16, last = size - header - (chunks - 1) * full
        XCTAssertEqual(last, 200_000 - 3 * 65_536 + 16, "the final chunk holds the rest and one tag")
        // The document states exactly these numbers.
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/encryption-format.md"), encoding: .utf8)
        let sum = "\(grouped(header)) + \(chunks - 1) × \(grouped(full)) + \(grouped(last)) = \(grouped(size))"
        XCTAssertTrue(doc.contains(sum), "docs/encryption-format.md should contain \"\(sum)\"")
        XCTAssertTrue(doc.contains("header 47 + 83 + 67 + 32 = \(header) bytes"), "the header arithmetic")
    }

    func testTruncationInsideTheHeaderExitsTwoAfterItExitsOne() throws {
        try Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0) }).write(to: URL(fileURLWithPath: path("plain.bin")))
        try ok(["encrypt", path("plain.bin"), "-o", path("f.enc"), "--key-file", path("kms.key"), "--chunk-size", "4096"])
        let file = try Data(contentsOf: URL(fileURLWithPath: path("f.enc")))
        let header = 47 + 67 + 32
        // Inside the header: not a complete encrypted file (exit 2), decided before any key is tried.
        // After it: the authenticated header promises chunks that are missing or cut (exit 1).
        let cuts = [(0, 2), (7, 2), (46, 2), (47 + 3 + 10, 2), (header - 32, 2), (header - 1, 2),
                    (header, 1), (header + 1, 1), (header + 16, 1), (header + 4096 + 16, 1), (file.count - 1, 1)]
        for (cut, expected) in cuts {
            try file.prefix(cut).write(to: URL(fileURLWithPath: path("cut.enc")))
            let r = try TestSupport.modelsec(["decrypt", path("cut.enc"), "-o", path("out.bin"), "--key-file", path("kms.key")])
            XCTAssertEqual(r.status, Int32(expected), "cut at \(cut): \(r.stderrText)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.bin")), "cut at \(cut)")
            // The same through standard input.
            let s = try TestSupport.modelsec(["decrypt", "-", "-o", "-", "--key-file", path("kms.key")], stdin: file.prefix(cut))
            XCTAssertEqual(s.status, Int32(expected), "stdin cut at \(cut): \(s.stderrText)")
            // Inside the header the file is malformed whatever key is given.
            if expected == 2 {
                let w = try TestSupport.modelsec(["decrypt", path("cut.enc"), "-o", path("out.bin"), "--identity", path("alice.pem")])
                XCTAssertEqual(w.status, 2, "cut at \(cut) with a key that is not a recipient: \(w.stderrText)")
            }
        }
    }
}
