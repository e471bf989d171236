import Foundation
import TestSupport
import XCTest

extension FirstHourTests {
    // MARK: 9. Groups without a subcommand, `help` with a typo

    func testGroupsWithoutSubcommandAreUsageErrors() throws {
        for group in [["token"], ["release"], ["dp"], ["log"], ["key"], ["policy"], ["store"], ["serve", "client"]] {
            let r = try run(group, expect: 2)
            XCTAssertTrue(r.stdout.isEmpty, "\(group): \(r.stdoutText)")
            XCTAssertTrue(r.stderrText.contains("SUBCOMMANDS"), "\(group): \(r.stderrText)")
        }
        try run(["token", "--help"])
        let help = try run(["help", "sgin"], expect: 2)
        XCTAssertTrue(help.stderrText.contains("did you mean 'sign'?"), help.stderrText)
        try run(["help", "sign"])
    }
}
