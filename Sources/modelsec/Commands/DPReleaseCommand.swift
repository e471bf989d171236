import ArgumentParser
import ModelSec

/// `modelsec dp release`: one differentially private statistic of a CSV column.
struct DPReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a differentially private statistic of one CSV column.",
        discussion: """
        The CSV file must have a header row; it is streamed, and a malformed row \
        is reported with its line number. Numeric values are clamped to --bounds \
        (mandatory for sum, mean, variance and quantile); NaN and infinities are \
        rejected. With --ledger and --dataset the cost is charged to the dataset's \
        budget first, and nothing is released if the budget would be exceeded \
        (exit code 1).

        Examples:
          modelsec dp release --input train.csv --column label --statistic count --epsilon 0.1
          modelsec dp release --input train.csv --column age --statistic mean --bounds 0,100 --epsilon 1 --json
          modelsec dp release --input train.csv --column label --statistic histogram --categories cat,dog,bird --epsilon 0.5
          modelsec dp release --input train.csv --column income --statistic quantile --quantile 0.5 --bounds 0,200000 --epsilon 1
          modelsec dp release --input train.csv --column age --statistic sum --bounds 0,100 --epsilon 1 --delta 1e-6 --mechanism gaussian \\
              --ledger privacy.db --dataset train-v3
        """
    )

    enum StatisticName: String, ExpressibleByArgument, CaseIterable {
        case count, sum, mean, variance, histogram, quantile
    }

    @Option(help: ArgumentHelp("The CSV file (with a header row).", valueName: "FILE.csv"))
    var input: String

    @Option(help: ArgumentHelp("The column to release.", valueName: "NAME"))
    var column: String

    @Option(help: "count, sum, mean, variance, histogram or quantile.")
    var statistic: StatisticName

    @Option(help: ArgumentHelp("Clamping bounds, e.g. 0,100 (required for sum, mean, variance, quantile).", valueName: "L,U"))
    var bounds: String?

    @Option(help: ArgumentHelp("Declared histogram categories, e.g. cat,dog (values outside are dropped).", valueName: "a,b,c"))
    var categories: String?

    @Option(help: ArgumentHelp("The quantile level in [0, 1] (default 0.5).", valueName: "Q"))
    var quantile: Double?

    @Option(help: "Number of evenly spaced candidate values for a quantile.")
    var candidates: Int = 1001

    @Option(help: ArgumentHelp("The release's epsilon.", valueName: "E"))
    var epsilon: Double

    @Option(help: ArgumentHelp("The release's delta (gaussian only).", valueName: "D"))
    var delta: Double?

    @Option(help: "laplace (pure epsilon, default) or gaussian (zCDP, needs --delta).")
    var mechanism: NoiseMechanism = .laplace

    @Option(help: "Neighbouring relation: add-remove (default) or replace-one.")
    var relation: NeighbouringRelation = .addRemove

    @Option(help: ArgumentHelp("Privacy-budget ledger (SQLite) to charge.", valueName: "DB"))
    var ledger: String?

    @Option(help: ArgumentHelp("Dataset name in the ledger.", valueName: "NAME"))
    var dataset: String?

    @Flag(help: "Print the release as JSON.")
    var json = false

    func validate() throws {
        if (ledger == nil) != (dataset == nil) { throw ValidationError("--ledger and --dataset go together") }
        if statistic != .histogram && categories != nil { throw ValidationError("--categories is for --statistic histogram") }
        if statistic != .quantile && quantile != nil { throw ValidationError("--quantile is for --statistic quantile") }
        _ = try makeSpec()
    }

    func makeSpec() throws -> StatisticSpec {
        var range: ClosedRange<Double>?
        if let bounds {
            let parts = bounds.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let l = Double(parts[0]), let u = Double(parts[1]), l.isFinite, u.isFinite, l < u else {
                throw ValidationError("--bounds must be two finite numbers L,U with L < U")
            }
            range = l...u
        }
        let stat: Statistic
        switch statistic {
        case .count: stat = .count
        case .sum: stat = .sum
        case .mean: stat = .mean
        case .variance: stat = .variance
        case .histogram:
            guard let categories, !categories.isEmpty else { throw ValidationError("--statistic histogram needs --categories a,b,c") }
            stat = .histogram(categories: categories.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        case .quantile: stat = .quantile(q: quantile ?? 0.5, candidates: candidates)
        }
        let spec = StatisticSpec(statistic: stat, bounds: range, relation: relation, mechanism: mechanism,
                                 epsilon: epsilon, delta: delta ?? 0)
        do { try spec.validate() } catch let error as DPError { throw ValidationError(error.description) }
        return spec
    }

    func run() throws {
        let spec = try makeSpec()
        let ledgerStore: SQLitePrivacyLedger? = try ledger.map { try SQLitePrivacyLedger(path: $0) }
        var rng = SecureRandomSource()
        let release = try CSVRelease.release(path: input, column: column, spec: spec, ledger: ledgerStore, dataset: dataset, using: &rng)
        if json { try CLI.printJSON(release); return }
        print("statistic:  \(release.statistic) of column '\(column)'\(release.quantile.map { " (q = \($0))" } ?? "")")
        if let value = release.value { print("value:      \(value)") }
        if let bins = release.histogram {
            for bin in bins { print("  \(bin.category): \(bin.count)") }
        }
        if let ci = release.confidenceInterval95 { print("95% CI:     [\(ci[0]), \(ci[1])] (noise only)") }
        if let h = release.noiseHalfWidth95 { print("noise:      |noise| <= \(h) with probability 95%\(release.histogram != nil ? " per bin" : "")") }
        if let r = release.rankErrorBound95 { print("rank error: <= \(r) records with probability 95%") }
        print("mechanism:  \(release.mechanism), \(release.relation.rawValue)")
        print("cost:       \(release.cost)")
        if let dataset, let ledgerStore {
            let status = try ledgerStore.status(dataset: dataset)
            print("ledger:     charged to dataset '\(dataset)', remaining \(status.remaining)")
            print("recorded:   result sha256 \(SHA256.hash(data: try release.canonicalBytes()).hex)")
        }
    }
}

extension NoiseMechanism: ExpressibleByArgument {}
extension NeighbouringRelation: ExpressibleByArgument {}
