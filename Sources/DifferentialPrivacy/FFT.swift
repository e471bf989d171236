import Foundation

/// An in-place iterative radix-2 complex fast Fourier transform on split
/// real and imaginary arrays, used to compose privacy loss distributions.
/// Sizes are powers of two; twiddle factors are computed once per call with
/// `sin`/`cos` directly (not by recurrence) to keep the rounding error at
/// O(log n) ulps.
enum FFT {
    /// The smallest power of two that is at least `n`.
    static func size(atLeast n: Int) -> Int {
        var s = 1
        while s < n { s <<= 1 }
        return s
    }

    /// Transforms (`re`, `im`) in place: forward computes
    /// X_k = sum_j x_j e^{-2 pi i jk/n}; inverse computes the inverse
    /// transform including the 1/n factor.
    static func transform(re: inout [Double], im: inout [Double], inverse: Bool) {
        let n = re.count
        precondition(n == im.count && n > 0 && n & (n - 1) == 0, "FFT size must be a power of two")
        if n == 1 { return }
        let half = n / 2
        var cosTable = [Double](repeating: 0, count: half), sinTable = [Double](repeating: 0, count: half)
        let sign: Double = inverse ? 1 : -1
        for k in 0..<half {
            let angle = 2 * Double.pi * Double(k) / Double(n)
            cosTable[k] = cos(angle)
            sinTable[k] = sign * sin(angle)
        }
        re.withUnsafeMutableBufferPointer { rp in
            im.withUnsafeMutableBufferPointer { ip in
                cosTable.withUnsafeBufferPointer { ct in
                    sinTable.withUnsafeBufferPointer { st in
                        run(rp.baseAddress!, ip.baseAddress!, n, ct.baseAddress!, st.baseAddress!)
                    }
                }
            }
        }
        if inverse {
            let scale = 1 / Double(n)
            for i in 0..<n { re[i] *= scale; im[i] *= scale }
        }
    }

    private static func run(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, _ n: Int,
                            _ ct: UnsafePointer<Double>, _ st: UnsafePointer<Double>) {
        // Bit-reversal permutation.
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j {
                let tr = re[i]; re[i] = re[j]; re[j] = tr
                let ti = im[i]; im[i] = im[j]; im[j] = ti
            }
        }
        var length = 2
        while length <= n {
            let halfLength = length / 2, stride = n / length
            var start = 0
            while start < n {
                var t = 0
                for k in 0..<halfLength {
                    let wr = ct[t], wi = st[t]
                    let a = start + k, b = a + halfLength
                    let xr = re[b] * wr - im[b] * wi
                    let xi = re[b] * wi + im[b] * wr
                    re[b] = re[a] - xr; im[b] = im[a] - xi
                    re[a] += xr; im[a] += xi
                    t += stride
                }
                start += length
            }
            length <<= 1
        }
    }
}
