import BigInt

extension StatisticAccumulator {
    /// The exponential mechanism over the candidates, sampled exactly: with
    /// K_j = |#{x < c_j} * qden - qnum * n| (the utility scaled by qden) and
    /// K* its minimum, draw j uniformly and accept with
    /// Bernoulli(exp(-eps (K_j - K*) / (2 qden K))), K the rows per privacy id.
    ///
    /// The expected number of proposals is m * w* / sum(w), which depends on
    /// the data (see docs/threat-model.md, differential privacy).
    func sampleQuantile<R: DPRandomSource>(q: Double, using rng: inout R) throws -> Double {
        guard let qr = Rational(decimalOf: q), let eps = Rational(decimalOf: spec.epsilon) else { throw DPError.invalidQuery("bad quantile or epsilon") }
        let n = BigInt(records)
        var below = BigInt(0)
        var scores: [BigInt] = []
        scores.reserveCapacity(candidates.count)
        for j in candidates.indices {
            below += BigInt(bucketCounts[j])
            scores.append(BigInt((below * BigInt(qr.denominator) - qr.numerator * n).magnitude))
        }
        let best = scores.min()!
        let scale = eps / Rational(BigInt(2) * BigInt(qr.denominator) * BigInt(spec.maxRowsPerID))
        while true {
            let j = Int(UInt64.random(in: 0..<UInt64(candidates.count), using: &rng))
            if ExactSamplers.bernoulliExpMinus(scale * Rational(scores[j] - best), using: &rng) { return candidates[j] }
        }
    }
}
