import Foundation
import ModelSecIO

/// Releases a statistic of one CSV column, optionally charging a ledger.
public enum CSVRelease {
    /// Which columns a release reads.
    public struct Columns: Sendable {
        /// The column whose values are released.
        public var value: String
        /// The column naming the person (privacy unit) each row belongs to;
        /// with it, at most ``StatisticSpec/maxRowsPerID`` rows per id are
        /// kept (the first ones in file order) and the rest are not read.
        public var privacyID: String?
        /// The column whose values form the groups of a grouped release
        /// (the spec's ``StatisticSpec/groupBy`` must be set).
        public var groupBy: String?

        /// The columns of a release.
        public init(value: String, privacyID: String? = nil, groupBy: String? = nil) {
            self.value = value
            self.privacyID = privacyID
            self.groupBy = groupBy
        }
    }

    /// Streams `path` and releases `spec` over `column`; see ``release(path:columns:spec:ledger:dataset:using:)``.
    public static func release<R: DPRandomSource>(path: String, column: String, spec: StatisticSpec,
                                                  ledger: (any PrivacyLedger)? = nil, dataset: String? = nil,
                                                  using rng: inout R) throws -> DPRelease {
        try release(path: path, columns: Columns(value: column), spec: spec, ledger: ledger, dataset: dataset, using: &rng)
    }

    /// Streams `path`, accumulates the value column exactly, and draws the noise.
    ///
    /// Order, so that nothing which depends on the records is free:
    /// 1. the query is validated and calibrated, and the header row (the
    ///    schema, treated as public) is read and the columns located: any
    ///    failure here is an uncharged usage error;
    /// 2. with `ledger` and `dataset`, the cost is charged and committed
    ///    (refused, without reading any record, if the relation differs from
    ///    the dataset's or the budget is short);
    /// 3. the records are read; each row's value is handled on its own by
    ///    the spec's ``InvalidValueRule`` (rows with the wrong number of
    ///    fields included), so no record can stop the release. Only a quoted
    ///    field that is never closed, or a read error, stops it, and that
    ///    failure stays charged;
    /// 4. the noise is drawn and the result and the data's SHA-256 recorded.
    ///
    /// With a privacy-id column each person's first ``StatisticSpec/maxRowsPerID``
    /// rows are kept; with a group-by column (and a grouped spec) the release
    /// is a ``GroupedAccumulator``'s.
    ///
    /// With `boundsEpsilon`, the clamping bounds are chosen privately first
    /// (``ApproxBounds``; `spec.bounds` is then only a placeholder): see
    /// ``releaseWithPrivateBounds(path:columns:spec:boundsEpsilon:ledger:dataset:using:)``.
    public static func release<R: DPRandomSource>(path: String, columns: Columns, spec: StatisticSpec,
                                                  boundsEpsilon: Double? = nil,
                                                  ledger: (any PrivacyLedger)? = nil, dataset: String? = nil,
                                                  using rng: inout R) throws -> DPRelease {
        if let boundsEpsilon {
            return try releaseWithPrivateBounds(path: path, columns: columns, spec: spec, boundsEpsilon: boundsEpsilon,
                                                ledger: ledger, dataset: dataset, using: &rng)
        }
        guard (columns.groupBy != nil) == spec.groupBy else {
            throw DPError.invalidQuery("a grouped query needs a group-by column, and a group-by column a grouped query")
        }
        let accumulator = spec.groupBy ? nil : try StatisticAccumulator(spec: spec)
        let grouped = spec.groupBy ? try GroupedAccumulator(spec: spec) : nil
        if columns.privacyID == nil && spec.maxRowsPerID > 1 {
            throw DPError.invalidQuery("more than one row per privacy id needs a privacy-id column to bound the rows")
        }
        let reader = try CSVReader(path: path)
        guard let header = try reader.next() else { throw DPError.invalidValue(location: path, reason: "empty file (no header row)") }
        let valueIndex = try index(of: columns.value, in: header, path: path)
        let idIndex = try columns.privacyID.map { try index(of: $0, in: header, path: path) }
        let groupIndex = try columns.groupBy.map { try index(of: $0, in: header, path: path) }
        let cost = grouped?.cost ?? accumulator!.cost
        let mechanism = grouped == nil ? accumulator!.mechanismName : "discrete-laplace+partition-selection"
        func readAndRelease() throws -> (result: DPRelease, canonicalBytes: [UInt8], dataSHA256: String?) {
            var bounder = idIndex.map { _ in ContributionBounder(maxRowsPerID: spec.maxRowsPerID) }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
            let progress = ProgressReporter(label: "reading \((path as NSString).lastPathComponent)", totalBytes: size)
            var reported: Int64 = 0
            while let record = try reader.next() {
                let aligned = record.fieldCount == header.fieldCount
                if let idIndex {
                    // A row whose person cannot be identified cannot be bounded: it is left out.
                    guard aligned, let id = record.fields[idIndex], bounder!.admit(id) else { continue }
                }
                if let grouped {
                    grouped.add(group: aligned ? record.fields[groupIndex!] : nil, field: aligned ? record.fields[valueIndex] : nil)
                } else {
                    accumulator!.add(field: aligned ? record.fields[valueIndex] : nil)
                }
                if reader.bytesRead - reported >= 1 << 20 {
                    progress.advance(bytes: reader.bytesRead - reported)
                    reported = reader.bytesRead
                }
            }
            progress.advance(bytes: reader.bytesRead - reported)
            progress.finish()
            var r = try grouped?.release(using: &rng) ?? accumulator!.release(using: &rng)
            r.column = columns.value
            r.groupBy = columns.groupBy
            return (r, try r.canonicalBytes(), reader.sha256?.hex)
        }
        guard let ledger, let dataset else { return try readAndRelease().result }
        let request = ChargeRequest(dataset: dataset, cost: cost, relation: spec.relation, mechanism: mechanism,
                                    parameters: try parameters(spec: spec, columns: columns, path: path))
        return try ledger.spend(request, release: readAndRelease)
    }

    /// The index of `name` in the header, compared as exact UTF-8 bytes;
    /// a missing, unreadable or repeated name is refused.
    static func index(of name: String, in header: CSVReader.Record, path: String) throws -> Int {
        let want = Array(name.utf8)
        if let bad = header.fields.firstIndex(where: { $0 == nil }) {
            throw DPError.invalidValue(location: "\(path):\(header.line)", reason: "header field \(bad + 1) is not readable UTF-8")
        }
        let matches = header.fields.indices.filter { header.fields[$0].map { Array($0.utf8) } == want }
        guard let first = matches.first else {
            throw DPError.invalidValue(location: "\(path):\(header.line)", reason: "no column named '\(name)' in the header")
        }
        guard matches.count == 1 else {
            throw DPError.invalidValue(location: "\(path):\(header.line)", reason: "the header names column '\(name)' \(matches.count) times")
        }
        return first
    }

    /// The JSON recorded as a charge's parameters.
    static func parameters(spec: StatisticSpec, columns: Columns, path: String, autoBounds: Bool = false) throws -> String {
        struct Parameters: Encodable {
            var input: String, column: String, statistic: String, relation: String, mechanism: String
            var epsilon: Double, delta: Double, bounds: [Double]?, categories: [String]?, quantile: Double?, candidates: Int?
            var invalid: String, privacyID: String?, maxRowsPerID: Int?, groupBy: String?, quantileSampler: String?
            var autoBounds: Bool?
        }
        var p = Parameters(input: (path as NSString).lastPathComponent, column: columns.value, statistic: spec.statistic.name,
                           relation: spec.relation.rawValue, mechanism: spec.mechanism.rawValue, epsilon: spec.epsilon,
                           delta: spec.delta, bounds: autoBounds ? nil : spec.bounds.map { [$0.lowerBound, $0.upperBound] },
                           categories: nil, quantile: nil, candidates: nil, invalid: spec.invalid.description,
                           privacyID: columns.privacyID, maxRowsPerID: columns.privacyID == nil ? nil : spec.maxRowsPerID,
                           groupBy: columns.groupBy, quantileSampler: nil, autoBounds: autoBounds ? true : nil)
        if case .histogram(let c) = spec.statistic { p.categories = c }
        if case .quantile(let q, let m) = spec.statistic { p.quantile = q; p.candidates = m; p.quantileSampler = spec.quantileSampler.rawValue }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(p), as: UTF8.self)
    }
}

extension StatisticAccumulator {
    /// The mechanism name recorded in the ledger.
    public var mechanismName: String {
        if case .quantile = spec.statistic { return quantileMechanismName }
        return spec.mechanism == .laplace ? IntegerNoise.Kind.discreteLaplace.rawValue : IntegerNoise.Kind.discreteGaussian.rawValue
    }
}
