import BigInt
@testable import DifferentialPrivacy
import XCTest

/// The ledger's 64-bit unit conversion must give exactly what the exact
/// rational arithmetic gives, for every value, or step aside (nil).
final class DecimalScalingTests: XCTestCase {
    /// The reference: the rational of the shortest decimal form, scaled and rounded (nil beyond 64 bits).
    func reference(_ value: Double, _ k: Int, roundUp: Bool) -> Int64? {
        guard let exact = Rational(decimalOf: value) else { return nil }
        let scaled = exact * Rational(BigInt(10).power(k), 1)
        let rounded = roundUp ? scaled.ceiling : scaled.floor
        return rounded > BigInt(Int64.max) ? nil : Int64(rounded)
    }

    func check(_ value: Double, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        var fast = false
        for k in [0, 9, 15, 19] {
            for roundUp in [false, true] {
                guard let got = DecimalScaling.scaled(value, powerOfTen: k, roundUp: roundUp) else { continue }
                fast = fast || k == 9 || k == 15
                XCTAssertEqual(got, reference(value, k, roundUp: roundUp), "\(value) × 10^\(k) roundUp=\(roundUp)", file: file, line: line)
            }
        }
        return fast
    }

    func testEdgeValues() {
        for value in [0.0, -0.0, 1, 0.1, 0.2, 0.3, 1e-9, 1e-10, 1.5e-9, 1e-15, 1e-16, 5e-324, 2.2250738585072014e-308, 0.30000000000000004,
                      123456789.123456789, 9.2e9, 9.3e18, 1e19, 1e20, 1.7976931348623157e308, 0.999999999999999, 1e-6, 3.000000001e-6,
                      5000, 9000, 0.0004, 0.001, 12345678901234567890] {
            _ = check(value)
        }
        XCTAssertEqual(DecimalScaling.scaled(0.1, powerOfTen: 9, roundUp: true), 100_000_000)
        XCTAssertEqual(DecimalScaling.scaled(1.5e-9, powerOfTen: 9, roundUp: true), 2)
        XCTAssertEqual(DecimalScaling.scaled(1.5e-9, powerOfTen: 9, roundUp: false), 1)
        XCTAssertEqual(DecimalScaling.scaled(5e-324, powerOfTen: 15, roundUp: true), 1)
        XCTAssertEqual(DecimalScaling.scaled(5e-324, powerOfTen: 15, roundUp: false), 0)
        XCTAssertNil(DecimalScaling.scaled(.infinity, powerOfTen: 9, roundUp: true))
        XCTAssertNil(DecimalScaling.scaled(.nan, powerOfTen: 9, roundUp: true))
        XCTAssertNil(DecimalScaling.scaled(-1, powerOfTen: 9, roundUp: true))
        XCTAssertNil(DecimalScaling.scaled(1e19, powerOfTen: 9, roundUp: true), "beyond 64 bits: the rational path decides")
    }

    /// Typed-looking decimals (what costs and budgets are) all take the fast
    /// path; random bit patterns and magnitudes agree whenever it answers.
    func testRandomValuesAgreeWithTheRationalPath() {
        var generator = SystemRandomNumberGenerator()
        var typedFast = 0
        let typed = 2_000
        for _ in 0..<typed {
            let digits = Int.random(in: 1...12, using: &generator)
            let mantissa = UInt64.random(in: 0..<DecimalScaling.powers[digits], using: &generator)
            let value = Double("\(mantissa)e-\(Int.random(in: 3...18, using: &generator))")! // up to 1e9
            if check(value) { typedFast += 1 }
        }
        XCTAssertEqual(typedFast, typed, "every typed decimal should take the 64-bit path")
        // Any double from 1e-30 to 1e20 (uniform in its bit pattern), and uniform values below 1e4.
        let low = (1e-30).bitPattern, high = (1e20).bitPattern
        for _ in 0..<1_500 {
            _ = check(Double(bitPattern: UInt64.random(in: low..<high, using: &generator)))
            _ = check(Double.random(in: 0..<1e4, using: &generator))
        }
    }
}
