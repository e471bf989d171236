import BigInt

/// How the quantile's candidate is sampled.
public enum QuantileSampler: String, Codable, Sendable, CaseIterable {
    /// The exponential mechanism by uniform proposals and exact acceptance
    /// (the default). Exact; its expected number of proposals, m w*/sum(w),
    /// depends on the data.
    case rejection
    /// Permute-and-flip (McKenna and Sheldon 2020), sampled exactly with the
    /// same work for every candidate: each of the m candidates, in a random
    /// order, gets B Bernoulli draws with fixed parameters, whatever the
    /// data, and the first accepted candidate is released.
    case fixedWork = "fixed-work"
}

extension StatisticAccumulator {
    /// The q-quantile with the spec's sampler.
    func sampleQuantile<R: DPRandomSource>(q: Double, using rng: inout R) throws -> Double {
        switch spec.quantileSampler {
        case .rejection: return try sampleQuantileByRejection(q: q, using: &rng)
        case .fixedWork: return try sampleQuantileWithFixedWork(q: q, using: &rng)
        }
    }

    /// K_j = |#{x < c_j} * qden - qnum * n| for every candidate (the
    /// utility's distance from the best, scaled by qden), and the scale
    /// lambda = eps / (2 qden K) of one unit of K_j.
    private func quantileScores(q: Double) throws -> (scores: [BigInt], best: BigInt, lambda: Rational) {
        guard let qr = Rational(decimalOf: q), let eps = Rational(decimalOf: spec.epsilon) else { throw DPError.invalidQuery("bad quantile or epsilon") }
        let n = BigInt(records)
        var below = BigInt(0)
        var scores: [BigInt] = []
        scores.reserveCapacity(candidates.count)
        for j in candidates.indices {
            below += BigInt(bucketCounts[j])
            scores.append(BigInt((below * BigInt(qr.denominator) - qr.numerator * n).magnitude))
        }
        return (scores, scores.min()!, eps / Rational(BigInt(2) * BigInt(qr.denominator) * BigInt(spec.maxRowsPerID)))
    }

    /// The B draws of the fixed-work sampler, B = 63 + bit length of qden
    /// (every d_j = K_j - K* <= n qden < 2^63 qden fits), made once per query.
    static func fixedWorkDraws(spec: StatisticSpec) throws -> [ExactSamplers.FixedExpMinus] {
        guard case .quantile(let q, _) = spec.statistic, let qr = Rational(decimalOf: q), let eps = Rational(decimalOf: spec.epsilon) else {
            throw DPError.invalidQuery("bad quantile or epsilon")
        }
        let lambda = eps / Rational(BigInt(2) * BigInt(qr.denominator) * BigInt(spec.maxRowsPerID))
        return (0..<(63 + qr.denominator.bitWidth)).map { ExactSamplers.FixedExpMinus(lambda * Rational(BigInt(1) << $0)) }
    }

    /// Permute-and-flip with a fixed amount of work per candidate.
    ///
    /// Candidate j is accepted with probability exp(-lambda d_j),
    /// d_j = K_j - K* >= 0, as the product over the bits i of d_j that are
    /// set of independent Bernoulli(exp(-lambda 2^i)) draws. Every candidate
    /// draws all B of them (B bounds the bit length of any d_j: n < 2^63 and
    /// d_j <= n qden), so the number of draws and their parameters do not
    /// depend on the data; only which draws count does. The first accepted
    /// candidate in a uniformly random order is released (the best one,
    /// d = 0, is always accepted), and the pass continues to the end.
    /// Permute-and-flip is epsilon-DP with the exponential mechanism's
    /// utility bound (it is report-noisy-max with exponential noise).
    private func sampleQuantileWithFixedWork<R: DPRandomSource>(q: Double, using rng: inout R) throws -> Double {
        let (scores, best, _) = try quantileScores(q: q)
        let draws = fixedWorkDraws
        let bits = draws.count
        var order = Array(candidates.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(UInt64.random(in: 0...UInt64(i), using: &rng)))
        }
        var chosen = -1
        for j in order {
            let d = (scores[j] - best).magnitude
            var accepted = true
            for i in 0..<bits {
                let success = draws[i].sample(using: &rng)
                accepted = accepted && (success || !d[bitAt: i])
            }
            if accepted && chosen < 0 { chosen = j }
        }
        return candidates[chosen]
    }

    /// The exponential mechanism over the candidates, sampled exactly: with
    /// K_j = |#{x < c_j} * qden - qnum * n| (the utility scaled by qden) and
    /// K* its minimum, draw j uniformly and accept with
    /// Bernoulli(exp(-eps (K_j - K*) / (2 qden K))), K the rows per privacy id.
    ///
    /// The expected number of proposals is m * w* / sum(w), which depends on
    /// the data (see docs/threat-model.md, differential privacy).
    private func sampleQuantileByRejection<R: DPRandomSource>(q: Double, using rng: inout R) throws -> Double {
        let (scores, best, scale) = try quantileScores(q: q)
        while true {
            let j = Int(UInt64.random(in: 0..<UInt64(candidates.count), using: &rng))
            if ExactSamplers.bernoulliExpMinus(scale * Rational(scores[j] - best), using: &rng) { return candidates[j] }
        }
    }
}
