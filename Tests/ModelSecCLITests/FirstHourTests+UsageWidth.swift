import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 15. USAGE within 80 columns

    /// Every command's `--help` synopsis fits in 80 columns, wrapped between
    /// options (a bracketed option stays on one line).
    func testUsageLinesFitIn80Columns() throws {
        let dump = try run(["--experimental-dump-help"])
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any])
        var paths: [[String]] = []
        func walk(_ node: [String: Any], _ path: [String]) {
            if !path.isEmpty { paths.append(path) }
            for sub in node["subcommands"] as? [[String: Any]] ?? [] { walk(sub, path + [sub["commandName"] as? String ?? "?"]) }
        }
        walk(try XCTUnwrap(root["command"] as? [String: Any]), [])
        XCTAssertGreaterThan(paths.count, 30)
        var sawWrapped = false
        for path in paths {
            let help = try run(path + ["--help"]).stdoutText
            let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
            let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("USAGE: ") }, "\(path)")
            let usage = lines[start...].prefix { !$0.isEmpty }
            sawWrapped = sawWrapped || usage.count > 1
            for line in usage {
                XCTAssertLessThanOrEqual(line.count, 80, "\(path.joined(separator: " ")): \(line)")
                // Brackets balance on each line: no option is cut in two.
                XCTAssertEqual(line.filter { $0 == "[" }.count, line.filter { $0 == "]" }.count, "\(path): \(line)")
            }
        }
        XCTAssertTrue(sawWrapped)
        let verify = try run(["verify", "--help"]).stdoutText
        XCTAssertTrue(verify.contains("[--key-passphrase-file <FILE>]") || verify.contains("--signature <SIG>"), verify)
    }
}
