import Foundation
import ModelSecCrypto
import ModelSecIO

extension CSVRelease {
    /// Releases `spec` over `columns.value` with clamping bounds chosen by
    /// an ``ApproxBounds`` histogram of epsilon `boundsEpsilon` (sum, mean,
    /// variance and quantile; not grouped). Two ledger lines are charged
    /// together, before any record is read: `approx-bounds` (pure
    /// `boundsEpsilon`) and the statistic (its own cost; for Gaussian noise
    /// the calibrated rho, an upper bound of the rho the chosen bounds
    /// achieve). The file is then read twice: once for the histogram (the
    /// bounds are drawn and recorded), once for the statistic with those
    /// bounds. The two passes must see the same bytes (same SHA-256), or the
    /// release fails after the charge. Composition: the release is
    /// (boundsEpsilon + epsilon)-DP for Laplace noise (basic composition;
    /// the statistic's mechanism is chosen using only the DP bounds).
    public static func releaseWithPrivateBounds<R: DPRandomSource>(path: String, columns: Columns, spec: StatisticSpec,
                                                                   boundsEpsilon: Double,
                                                                   ledger: (any PrivacyLedger)? = nil, dataset: String? = nil,
                                                                   using rng: inout R) throws -> DPRelease {
        guard spec.isNumeric, !spec.groupBy, columns.groupBy == nil else {
            throw DPError.invalidQuery("private bounds are for sum, mean, variance and quantile, not grouped")
        }
        if columns.privacyID == nil && spec.maxRowsPerID > 1 {
            throw DPError.invalidQuery("more than one row per privacy id needs a privacy-id column to bound the rows")
        }
        let provisional = try StatisticAccumulator(spec: spec)   // every check that does not depend on the bounds
        var selector = try ApproxBounds(epsilon: boundsEpsilon, maxRowsPerID: spec.maxRowsPerID, relation: spec.relation)
        let first = try CSVReader(path: path)
        guard let header = try first.next() else { throw DPError.invalidValue(location: path, reason: "empty file (no header row)") }
        let valueIndex = try index(of: columns.value, in: header, path: path)
        let idIndex = try columns.privacyID.map { try index(of: $0, in: header, path: path) }
        let statisticCost = spec.mechanism == .gaussian
            ? PrivacyCost(epsilon: spec.epsilon, delta: spec.delta, rho: ZCDP.rho(epsilon: spec.epsilon, delta: spec.delta))
            : provisional.cost

        /// Streams the records of `reader`, handing each admitted row's value field to `body`.
        func stream(_ reader: CSVReader, _ body: (String?) -> Void) throws {
            var bounder = idIndex.map { _ in ContributionBounder(maxRowsPerID: spec.maxRowsPerID) }
            while let record = try reader.next() {
                let aligned = record.fieldCount == header.fieldCount
                if let idIndex {
                    guard aligned, let id = record.fields[idIndex], bounder!.admit(id) else { continue }
                }
                body(aligned ? record.fields[valueIndex] : nil)
            }
        }

        var charges: [Int64] = []
        if let ledger, let dataset {
            let parameters = try self.parameters(spec: spec, columns: columns, path: path, autoBounds: true)
            charges = try ledger.charge([
                ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: boundsEpsilon), relation: spec.relation,
                              mechanism: "approx-bounds", parameters: parameters),
                ChargeRequest(dataset: dataset, cost: statisticCost, relation: spec.relation,
                              mechanism: provisional.mechanismName, parameters: parameters),
            ])
        }
        var completed = 0
        do {
            try stream(first) { selector.add(field: $0) }
            let chosen = selector.select(using: &rng)
            let selection = DPRelease.BoundsSelection(epsilon: boundsEpsilon, threshold: Double(selector.threshold),
                                                      lower: chosen.lowerBound, upper: chosen.upperBound)
            let firstDigest = first.sha256?.hex
            if let ledger, !charges.isEmpty {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                try ledger.complete(charge: charges[0], outcome: .released, dataSHA256: firstDigest,
                                    resultSHA256: SHA2.SHA256.hash(data: Array(try encoder.encode(selection))).hex)
                completed = 1
            }
            var bounded = spec
            bounded.bounds = chosen
            let accumulator = try StatisticAccumulator(spec: bounded)
            let second = try CSVReader(path: path)
            _ = try second.next()
            try stream(second) { accumulator.add(field: $0) }
            guard second.sha256?.hex == firstDigest else {
                throw DPError.invalidValue(location: path, reason: "the file changed between the two passes of a release with private bounds")
            }
            var r = try accumulator.release(using: &rng)
            r.column = columns.value
            r.boundsSelection = selection
            r.notes.append("bounds chosen privately: a discrete-Laplace histogram over \(ApproxBounds.binCount) power-of-two bins (epsilon \(boundsEpsilon), threshold \(selector.threshold)) gave [\(chosen.lowerBound), \(chosen.upperBound)]; that epsilon is charged separately")
            if let ledger, charges.count == 2 {
                try ledger.complete(charge: charges[1], outcome: .released, dataSHA256: second.sha256?.hex,
                                    resultSHA256: SHA2.SHA256.hash(data: try r.canonicalBytes()).hex)
            }
            return r
        } catch {
            guard let ledger, let dataset, !charges.isEmpty else { throw error }
            for id in charges.dropFirst(completed) { try? ledger.complete(charge: id, outcome: .failed, dataSHA256: nil, resultSHA256: nil) }
            if case DPError.failedAfterCharge = error { throw error }
            throw DPError.failedAfterCharge(dataset: dataset, reason: "\(error)")
        }
    }
}
