import Foundation
import ModelRelease
import XCTest
import Yams

/// The limits of the one YAML loader, at their exact boundaries.
final class BoundedYAMLTests: XCTestCase {
    func refusal(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> BoundedYAML.Refusal? {
        do {
            _ = try BoundedYAML.compose(yaml, source: "doc.yaml")
            return nil
        } catch let refusal as BoundedYAML.Refusal {
            return refusal
        } catch {
            XCTFail("not a refusal: \(error)", file: file, line: line)
            return nil
        }
    }

    /// A mapping `a` holding an anchored list of `n` scalars, `b` holding `m`
    /// aliases of it, `c` holding `k` scalars:
    /// 1 + (1 + 1 + n) + (1 + 1 + m(1 + n)) + (1 + 1 + k) nodes.
    func document(n: Int, m: Int, k: Int) -> String {
        "a: &a [" + Array(repeating: "x", count: n).joined(separator: ",") + "]\n"
            + "b: [" + Array(repeating: "*a", count: m).joined(separator: ",") + "]\n"
            + "c: [" + Array(repeating: "y", count: k).joined(separator: ",") + "]\n"
    }

    func testNodeLimitCountsEveryAliasAsWhatItRefersTo() throws {
        // 1 + 1001 + 2 + 98 * 1000 + 2 + 994 = 100,000 nodes exactly.
        XCTAssertNil(refusal(document(n: 999, m: 98, k: 994)))
        let over = try XCTUnwrap(refusal(document(n: 999, m: 98, k: 995)))
        XCTAssertEqual(over.reason, "more than 100000 YAML nodes (aliases counted as what they refer to)")
        XCTAssertEqual(over.line, 3)
        XCTAssertEqual(over.path, "doc.yaml")
        XCTAssertEqual("\(over)", "doc.yaml: more than 100000 YAML nodes (aliases counted as what they refer to) (line 3, column \(over.column))")
        XCTAssertEqual(over.category, .invalidInput)
    }

    func testLimitSpansEveryDocumentOfTheStream() throws {
        // Two documents of 60,000 nodes each: refused by the walk, before Yams sees the second document.
        let half = "[" + Array(repeating: "x", count: 59_999).joined(separator: ",") + "]\n"
        let refused = try XCTUnwrap(refusal(half + "---\n" + half))
        XCTAssertTrue(refused.reason.hasPrefix("more than 100000 YAML nodes"))
    }

    func testAliasesMustReferToAnEarlierAnchor() throws {
        XCTAssertEqual(refusal("a: *nothing\n")?.reason, "alias *nothing refers to no earlier anchor")
        // An alias inside its own anchor refers to nothing yet (as in Yams).
        XCTAssertEqual(refusal("a: &a [x, *a]\n")?.reason, "alias *a refers to no earlier anchor")
        // A redefined anchor: aliases refer to the latest definition, so its size counts.
        let redefined = "a: &a x\nb: &a [" + Array(repeating: "x", count: 50_000).joined(separator: ",") + "]\nc: [*a]\n"
        XCTAssertTrue(refusal(redefined)?.reason.hasPrefix("more than 100000 YAML nodes") ?? false)
    }

    func testSyntaxErrorsAreYamsErrors() {
        XCTAssertThrowsError(try BoundedYAML.compose("a: [1, 2\n", source: "doc.yaml")) { error in
            XCTAssertTrue(error is YamlError, "\(error)")
        }
        XCTAssertThrowsError(try BoundedYAML.compose("a: 1\na: 2\n", source: "doc.yaml")) { error in
            XCTAssertTrue(error is YamlError, "\(error)")
        }
    }

    func testComposesWhatYamsComposes() throws {
        let yaml = "a: &x [1, two, {k: v}]\nb: *x\n? plain\n: value\n"
        XCTAssertEqual(try BoundedYAML.compose(yaml, source: "doc.yaml"), try Yams.compose(yaml: yaml))
        XCTAssertNil(try BoundedYAML.compose("", source: "doc.yaml"))
        XCTAssertNil(try BoundedYAML.compose("# only a comment\n", source: "doc.yaml"))
    }
}
