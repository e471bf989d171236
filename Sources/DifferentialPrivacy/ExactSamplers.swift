import BigInt

/// Exact samplers for the Bernoulli, discrete Laplace and discrete Gaussian
/// distributions (Canonne, Kamath and Steinke, "The Discrete Gaussian for
/// Differential Privacy", NeurIPS 2020, Algorithms 1-3).
///
/// Every decision is made by comparing a uniformly random integer with an
/// exact integer threshold, so the output distribution is exactly the stated
/// one (given a uniform random source); there is no floating point anywhere.
/// Small parameters run on `UInt64` with overflow checks and fall back to
/// `BigUInt` automatically.
///
/// These are rejection samplers: their running time is random and depends
/// on the sampled value (not on the data). See `docs/privacy.md`.
public enum ExactSamplers {
    // MARK: Bernoulli(p), p = num / den

    /// Bernoulli(num/den) for 0 <= num <= den, den > 0: one uniform integer
    /// in [0, den), compared with num.
    @inlinable
    public static func bernoulli<R: DPRandomSource>(numerator: UInt64, denominator: UInt64, using rng: inout R) -> Bool {
        precondition(denominator > 0 && numerator <= denominator)
        return UInt64.random(in: 0..<denominator, using: &rng) < numerator
    }

    /// Bernoulli(num/den) with arbitrary-size integers.
    public static func bernoulli<R: DPRandomSource>(numerator: BigUInt, denominator: BigUInt, using rng: inout R) -> Bool {
        precondition(denominator > 0 && numerator <= denominator)
        if let n = UInt64(exactly: numerator), let d = UInt64(exactly: denominator) {
            return bernoulli(numerator: n, denominator: d, using: &rng)
        }
        return BigUInt.randomInteger(lessThan: denominator, using: &rng) < numerator
    }

    /// Bernoulli(p) for a rational p in [0, 1].
    public static func bernoulli<R: DPRandomSource>(_ p: Rational, using rng: inout R) -> Bool {
        precondition(p.numerator.sign == .plus && p.numerator.magnitude <= p.denominator, "p must be in [0, 1]")
        return bernoulli(numerator: p.numerator.magnitude, denominator: p.denominator, using: &rng)
    }

    // MARK: Bernoulli(exp(-x)), x = num / den >= 0

    /// Bernoulli(exp(-num/den)) (CKS Algorithm 1), exact.
    public static func bernoulliExpMinus<R: DPRandomSource>(numerator: BigUInt, denominator: BigUInt, using rng: inout R) -> Bool {
        precondition(denominator > 0)
        if let n = UInt64(exactly: numerator), let d = UInt64(exactly: denominator), d <= UInt64.max / 4096 {
            return bernoulliExpMinusSmall(numerator: n, denominator: d, using: &rng)
        }
        // x > 1: exp(-x) = exp(-1)^floor(x) * exp(-(x - floor x)).
        let (whole, rest) = numerator.quotientAndRemainder(dividingBy: denominator)
        var k = BigUInt(0)
        while k < whole {
            if !bernoulliExpMinusAtMostOne(numerator: 1, denominator: 1, using: &rng) { return false }
            k += 1
        }
        return bernoulliExpMinusAtMostOne(numerator: rest, denominator: denominator, using: &rng)
    }

    /// Bernoulli(exp(-x)) for a rational x >= 0.
    public static func bernoulliExpMinus<R: DPRandomSource>(_ x: Rational, using rng: inout R) -> Bool {
        precondition(x.numerator.sign == .plus, "x must be >= 0")
        return bernoulliExpMinus(numerator: x.numerator.magnitude, denominator: x.denominator, using: &rng)
    }

    /// Bernoulli(exp(-x)) for a fixed rational x >= 0 drawn many times: the
    /// same algorithm as ``bernoulliExpMinus(_:using:)`` (floor(x) trials of
    /// Bernoulli(exp(-1)), all of which must succeed, then
    /// Bernoulli(exp(-(x - floor x)))), with x split once and the trials
    /// counted in 64 bits.
    public struct FixedExpMinus: Sendable {
        let whole: BigUInt, wholeSmall: UInt64
        let rest: BigUInt, denominator: BigUInt
        let smallRest: (numerator: UInt64, denominator: UInt64)?

        /// The sampler for x (which must be >= 0).
        public init(_ x: Rational) {
            precondition(x.numerator.sign == .plus, "x must be >= 0")
            (whole, rest) = x.numerator.magnitude.quotientAndRemainder(dividingBy: x.denominator)
            denominator = x.denominator
            wholeSmall = UInt64(exactly: whole) ?? .max
            if let n = UInt64(exactly: rest), let d = UInt64(exactly: denominator), d <= UInt64.max / 4096 {
                smallRest = (n, d)
            } else {
                smallRest = nil
            }
        }

        /// One draw.
        public func sample<R: DPRandomSource>(using rng: inout R) -> Bool {
            var k: UInt64 = 0
            while k < wholeSmall {
                if !ExactSamplers.bernoulliExpMinusOneSmall(using: &rng) { return false }
                k += 1
            }
            var big = BigUInt(wholeSmall)
            while big < whole {
                if !ExactSamplers.bernoulliExpMinusOneSmall(using: &rng) { return false }
                big += 1
            }
            if let smallRest {
                return smallRest.numerator == 0 || ExactSamplers.bernoulliExpMinusSmall(numerator: smallRest.numerator, denominator: smallRest.denominator, using: &rng)
            }
            return ExactSamplers.bernoulliExpMinusAtMostOne(numerator: rest, denominator: denominator, using: &rng)
        }
    }

    /// x = n/d in [0, 1]: K <- 1; while Bernoulli(x/K) { K += 1 }; return K odd.
    /// P[K > k] = x^k / k!, so P[K odd] = sum (-x)^k/k! = exp(-x).
    static func bernoulliExpMinusAtMostOne<R: DPRandomSource>(numerator: BigUInt, denominator: BigUInt, using rng: inout R) -> Bool {
        var k = BigUInt(1)
        while bernoulli(numerator: numerator, denominator: denominator * k, using: &rng) { k += 1 }
        return k & 1 == 1
    }

    /// The `UInt64` fast path; falls back to big integers if `den * K` would
    /// overflow (which needs K > 4096 and is astronomically unlikely).
    @usableFromInline
    static func bernoulliExpMinusSmall<R: DPRandomSource>(numerator: UInt64, denominator: UInt64, using rng: inout R) -> Bool {
        var whole = numerator / denominator
        let rest = numerator % denominator
        while whole > 0 {
            if !bernoulliExpMinusOneSmall(using: &rng) { return false }
            whole -= 1
        }
        var k: UInt64 = 1
        while true {
            let (dk, overflow) = denominator.multipliedReportingOverflow(by: k)
            if overflow {
                // Continue the same loop exactly in big integers.
                var bigK = BigUInt(k)
                while bernoulli(numerator: BigUInt(rest), denominator: BigUInt(denominator) * bigK, using: &rng) { bigK += 1 }
                return bigK & 1 == 1
            }
            if !(UInt64.random(in: 0..<dk, using: &rng) < rest) { break }
            k += 1
        }
        return k & 1 == 1
    }

    /// Bernoulli(exp(-1)) by the same loop with x = 1.
    @usableFromInline
    static func bernoulliExpMinusOneSmall<R: DPRandomSource>(using rng: inout R) -> Bool {
        var k: UInt64 = 1
        while UInt64.random(in: 0..<k, using: &rng) < 1 { k += 1 }
        return k & 1 == 1
    }

    // MARK: Discrete Laplace

    /// A sample from the discrete Laplace distribution with scale `scale`
    /// (P[X = x] proportional to exp(-|x| / scale)) over the integers
    /// (CKS Algorithm 2). `scale` must be positive.
    public static func discreteLaplace<R: DPRandomSource>(scale: Rational, using rng: inout R) -> BigInt {
        precondition(scale.isPositive, "scale must be positive")
        // scale = t / s
        let t = scale.numerator.magnitude, s = scale.denominator
        if let t64 = UInt64(exactly: t), let s64 = UInt64(exactly: s), t64 <= UInt64.max / 4096 {
            return BigInt(discreteLaplaceSmall(t: t64, s: s64, using: &rng))
        }
        while true {
            let u = BigUInt.randomInteger(lessThan: t, using: &rng)
            if !bernoulliExpMinus(numerator: u, denominator: t, using: &rng) { continue }
            var v = BigUInt(0)
            while bernoulliExpMinusOneSmall(using: &rng) { v += 1 }
            let x = u + t * v
            let y = x / s
            let negative = Bool.random(using: &rng)
            if negative && y.isZero { continue }
            return negative ? -BigInt(y) : BigInt(y)
        }
    }

    /// `UInt64` version of Algorithm 2 for scale t/s. Falls back to big
    /// integers if the geometric part would overflow.
    @usableFromInline
    static func discreteLaplaceSmall<R: DPRandomSource>(t: UInt64, s: UInt64, using rng: inout R) -> Int64 {
        while true {
            let u = UInt64.random(in: 0..<t, using: &rng)
            if !bernoulliExpMinusSmall(numerator: u, denominator: t, using: &rng) { continue }
            var v: UInt64 = 0
            while bernoulliExpMinusOneSmall(using: &rng) { v += 1 }
            let (tv, o1) = t.multipliedReportingOverflow(by: v)
            let (x, o2) = u.addingReportingOverflow(tv)
            // Overflow needs v ~ 2^64 / t: impossible in practice; resample
            // would bias, so treat it as the (unreachable) precondition it is.
            precondition(!o1 && !o2 && x / s <= UInt64(Int64.max), "discrete Laplace sample out of range")
            let y = Int64(x / s)
            let negative = Bool.random(using: &rng)
            if negative && y == 0 { continue }
            return negative ? -y : y
        }
    }

    // MARK: Discrete Gaussian

    /// A sample from the discrete Gaussian N_Z(0, sigma2) (P[X = x]
    /// proportional to exp(-x^2 / (2 sigma2))) over the integers (CKS
    /// Algorithm 3). `sigma2` must be positive.
    public static func discreteGaussian<R: DPRandomSource>(sigma2: Rational, using rng: inout R) -> BigInt {
        precondition(sigma2.isPositive, "variance must be positive")
        let a = sigma2.numerator.magnitude, b = sigma2.denominator
        // t = floor(sigma) + 1, with floor(sqrt(a/b)) = isqrt(floor(a/b)).
        let t = (a / b).squareRoot() + 1
        if let a64 = UInt64(exactly: a), let b64 = UInt64(exactly: b), let t64 = UInt64(exactly: t),
           t64 <= UInt64.max / 4096 {
            let small = DiscreteGaussianSmall(a: a64, b: b64, t: t64)
            if let small { return BigInt(small.sample(using: &rng)) }
        }
        // Accept Y ~ DLap(t) with probability exp(-(|Y| - sigma2/t)^2 / (2 sigma2))
        // = exp(-(|Y| b t - a)^2 / (2 a b t^2)).
        let denominator = 2 * a * b * t * t
        let bt = b * t
        while true {
            let y = discreteLaplace(scale: Rational(BigInt(t)), using: &rng)
            let diff = BigInt(y.magnitude * bt) - BigInt(a)
            let num = diff.magnitude * diff.magnitude
            if bernoulliExpMinus(numerator: num, denominator: denominator, using: &rng) { return y }
        }
    }

    /// Pre-computed constants of Algorithm 3 when they fit in 64 bits; used
    /// for fast vector sampling.
    @usableFromInline
    struct DiscreteGaussianSmall {
        let a: UInt64, b: UInt64, t: UInt64, bt: UInt64, denominator: UInt64

        @usableFromInline
        init?(a: UInt64, b: UInt64, t: UInt64) {
            let (ab, o1) = a.multipliedReportingOverflow(by: b)
            let (tt, o2) = t.multipliedReportingOverflow(by: t)
            let (abtt, o3) = ab.multipliedReportingOverflow(by: tt)
            let (den, o4) = abtt.multipliedReportingOverflow(by: 2)
            let (bt, o5) = b.multipliedReportingOverflow(by: t)
            guard !(o1 || o2 || o3 || o4 || o5) else { return nil }
            self.a = a; self.b = b; self.t = t; self.bt = bt; self.denominator = den
        }

        @usableFromInline
        func sample<R: DPRandomSource>(using rng: inout R) -> Int64 {
            while true {
                let y = ExactSamplers.discreteLaplaceSmall(t: t, s: 1, using: &rng)
                let (ybt, o1) = y.magnitude.multipliedReportingOverflow(by: bt)
                if !o1 {
                    let diff = ybt >= a ? ybt - a : a - ybt
                    let (num, o2) = diff.multipliedReportingOverflow(by: diff)
                    if !o2 {
                        if ExactSamplers.bernoulliExpMinusSmall(numerator: num, denominator: denominator, using: &rng) { return y }
                        continue
                    }
                }
                let diff = BigInt(y.magnitude) * BigInt(bt) - BigInt(a)
                let num = diff.magnitude * diff.magnitude
                if ExactSamplers.bernoulliExpMinus(numerator: num, denominator: BigUInt(denominator), using: &rng) { return y }
            }
        }
    }

    /// Adds independent discrete Gaussian noise N_Z(0, sigma2) to every
    /// element of `values` with randomness from the OS CSPRNG (a
    /// ``SecureRandomSource``). Specialised for that source, so it is the
    /// fast path for large vectors such as gradients.
    public static func addDiscreteGaussianNoise(to values: inout [Int64], sigma2: Rational) {
        var rng = SecureRandomSource()
        addDiscreteGaussianNoise(to: &values, sigma2: sigma2, using: &rng)
    }

    /// Adds independent discrete Gaussian noise N_Z(0, sigma2) to every
    /// element of `values` (the vector form used for gradients and
    /// histograms). Precomputes the sampler constants once.
    public static func addDiscreteGaussianNoise<R: DPRandomSource>(to values: inout [Int64], sigma2: Rational, using rng: inout R) {
        precondition(sigma2.isPositive, "variance must be positive")
        let a = sigma2.numerator.magnitude, b = sigma2.denominator
        let t = (a / b).squareRoot() + 1
        if let a64 = UInt64(exactly: a), let b64 = UInt64(exactly: b), let t64 = UInt64(exactly: t),
           t64 <= UInt64.max / 4096, let small = DiscreteGaussianSmall(a: a64, b: b64, t: t64) {
            for i in values.indices { values[i] += small.sample(using: &rng) }
            return
        }
        for i in values.indices { values[i] += Int64(discreteGaussian(sigma2: sigma2, using: &rng)) }
    }
}
