import Foundation
import ModelSecIO

/// Releases a statistic of one CSV column, optionally charging a ledger.
public enum CSVRelease {
    /// Streams `path`, accumulates `column` exactly, then (after reserving the
    /// cost in `ledger` under `dataset`, when given) draws the noise.
    ///
    /// The header row names the columns. Every record must have as many
    /// fields as the header; a malformed record is reported with its line.
    /// Nothing is released if the input is malformed or the budget is short.
    public static func release<R: DPRandomSource>(path: String, column: String, spec: StatisticSpec,
                                                  ledger: (any PrivacyLedger)? = nil, dataset: String? = nil,
                                                  using rng: inout R) throws -> DPRelease {
        let accumulator = try StatisticAccumulator(spec: spec)
        if let ledger, let dataset {
            // Fail early (before reading a large file) if the budget is already short;
            // the binding check happens again inside the spend transaction.
            let status = try ledger.status(dataset: dataset)
            if status.remaining.epsilon + 1e-9 < spec.epsilon || status.remaining.delta + 1e-15 < spec.delta {
                throw DPError.budgetExceeded(dataset: dataset, requested: accumulator.cost, remaining: status.remaining)
            }
        }
        let reader = try CSVReader(path: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        let progress = ProgressReporter(label: "reading \((path as NSString).lastPathComponent)", totalBytes: size)
        var reported: Int64 = 0
        guard let header = try reader.next() else { throw DPError.invalidValue(location: path, reason: "empty file (no header row)") }
        guard let index = header.fields.firstIndex(of: column) else {
            throw DPError.invalidValue(location: "\(path):\(header.line)", reason: "no column named '\(column)' in the header")
        }
        while let record = try reader.next() {
            guard record.fields.count == header.fields.count else {
                throw DPError.invalidValue(location: "\(path):\(record.line)",
                                           reason: "malformed row: \(record.fields.count) fields, the header has \(header.fields.count)")
            }
            try accumulator.add(field: record.fields[index], location: "\(path):\(record.line)")
            if reader.bytesRead - reported >= 1 << 20 {
                progress.advance(bytes: reader.bytesRead - reported)
                reported = reader.bytesRead
            }
        }
        progress.advance(bytes: reader.bytesRead - reported)
        progress.finish()
        func draw() throws -> DPRelease {
            var r = try accumulator.release(using: &rng)
            r.column = column
            return r
        }
        guard let ledger, let dataset else { return try draw() }
        let parameters = try Self.parameters(spec: spec, column: column, path: path)
        return try ledger.spend(dataset: dataset, cost: accumulator.cost, mechanism: accumulator.mechanismName,
                                parameters: parameters) {
            let r = try draw()
            return (r, try r.canonicalBytes())
        }
    }

    /// The JSON recorded as a spend's parameters.
    static func parameters(spec: StatisticSpec, column: String, path: String) throws -> String {
        struct Parameters: Encodable {
            var input: String, column: String, statistic: String, relation: String, mechanism: String
            var epsilon: Double, delta: Double, bounds: [Double]?, categories: [String]?, quantile: Double?, candidates: Int?
        }
        var p = Parameters(input: (path as NSString).lastPathComponent, column: column, statistic: spec.statistic.name,
                           relation: spec.relation.rawValue, mechanism: spec.mechanism.rawValue, epsilon: spec.epsilon,
                           delta: spec.delta, bounds: spec.bounds.map { [$0.lowerBound, $0.upperBound] },
                           categories: nil, quantile: nil, candidates: nil)
        if case .histogram(let c) = spec.statistic { p.categories = c }
        if case .quantile(let q, let m) = spec.statistic { p.quantile = q; p.candidates = m }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(p), as: UTF8.self)
    }
}

extension StatisticAccumulator {
    /// The mechanism name recorded in the ledger.
    public var mechanismName: String {
        if case .quantile = spec.statistic { return "exponential" }
        return spec.mechanism == .laplace ? IntegerNoise.Kind.discreteLaplace.rawValue : IntegerNoise.Kind.discreteGaussian.rawValue
    }
}
