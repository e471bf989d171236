import Foundation
import ModelSecCrypto

extension VectorAccumulator {
    /// Streams `path` and releases the vector statistic over `columns`
    /// (header names, compared as exact UTF-8 bytes), in the order of
    /// ``CSVRelease``: query and header checked, then (with a ledger) the
    /// cost charged before any record is read, then the records read (a
    /// row with the wrong number of fields, or any missing or non-numeric
    /// value, is the zero vector), the noise drawn and the outcome recorded.
    /// With `privacyID`, each person's first ``maxRowsPerID`` rows are kept.
    public func release<R: DPRandomSource>(path: String, columns: [String], privacyID: String? = nil,
                                           ledger: (any PrivacyLedger)? = nil, dataset: String? = nil,
                                           using rng: inout R) throws -> Release {
        guard columns.count == dimension else { throw DPError.invalidQuery("\(kind.rawValue) was set up for \(dimension) columns, given \(columns.count)") }
        guard Set(columns.map { Array($0.utf8) }).count == columns.count else { throw DPError.invalidQuery("the columns must be distinct") }
        if privacyID == nil && maxRowsPerID > 1 {
            throw DPError.invalidQuery("more than one row per privacy id needs a privacy-id column to bound the rows")
        }
        let reader = try CSVReader(path: path)
        guard let header = try reader.next() else { throw DPError.invalidValue(location: path, reason: "empty file (no header row)") }
        let indices = try columns.map { try CSVRelease.index(of: $0, in: header, path: path) }
        let idIndex = try privacyID.map { try CSVRelease.index(of: $0, in: header, path: path) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func readAndRelease() throws -> (result: Release, canonicalBytes: [UInt8], dataSHA256: String?) {
            var bounder = idIndex.map { _ in ContributionBounder(maxRowsPerID: maxRowsPerID) }
            while let record = try reader.next() {
                let aligned = record.fieldCount == header.fieldCount
                if let idIndex {
                    guard aligned, let id = record.fields[idIndex], bounder!.admit(id) else { continue }
                }
                add(fields: aligned ? indices.map { record.fields[$0] } : [])
            }
            let r = release(columns: columns, using: &rng)
            return (r, Array(try encoder.encode(r)), reader.sha256?.hex)
        }
        guard let ledger, let dataset else { return try readAndRelease().result }
        let parameters = VectorReleaseParameters(input: (path as NSString).lastPathComponent, columns: columns, statistic: kind.rawValue,
                                    relation: relation.rawValue, mechanism: "gaussian", epsilon: epsilon, delta: delta,
                                    clipNorm: clipNorm, privacyID: privacyID, maxRowsPerID: privacyID == nil ? nil : maxRowsPerID)
        let request = ChargeRequest(dataset: dataset, cost: cost, relation: relation, mechanism: IntegerNoise.Kind.discreteGaussian.rawValue,
                                    parameters: String(decoding: try encoder.encode(parameters), as: UTF8.self))
        return try ledger.spend(request, release: readAndRelease)
    }
}

/// The JSON recorded as a vector release's ledger parameters.
private struct VectorReleaseParameters: Encodable {
    var input: String, columns: [String], statistic: String, relation: String, mechanism: String
    var epsilon: Double, delta: Double, clipNorm: Double, privacyID: String?, maxRowsPerID: Int?
}
