import BigInt

/// An exact 128-bit two's-complement sum of 64-bit integers. Accumulated
/// values are at most 2^44 in magnitude and a file holds fewer than 2^63
/// rows, so the sum stays below 2^107: it cannot overflow, and adding has
/// no failure path.
struct WideSum {
    private var high: Int64 = 0
    private var low: UInt64 = 0

    /// Adds x.
    @inline(__always)
    mutating func add(_ x: Int64) {
        let (l, carry) = low.addingReportingOverflow(UInt64(bitPattern: x))
        low = l
        high = high &+ (x < 0 ? -1 : 0) &+ (carry ? 1 : 0)
    }

    /// The sum.
    var value: BigInt { (BigInt(high) << 64) + BigInt(low) }
}
