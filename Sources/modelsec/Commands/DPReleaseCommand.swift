import ArgumentParser
import ModelSec

/// `modelsec dp release`: one differentially private statistic of a CSV column.
struct DPReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a differentially private statistic of one CSV column.",
        discussion: """
        The CSV file must have a header row; it is streamed. Numeric values are \
        clamped to --bounds (mandatory for sum, mean, variance and quantile), \
        including numbers beyond the double range such as 1e400. Invalid values \
        (not a number, a row with the wrong number of fields, an unreadable \
        field) follow --invalid, row by row: clamp (default: treated as \
        -infinity, i.e. the lower bound; counted by count), drop (the row is left \
        out; add-remove only) or impute=VALUE. No error ever shows a cell's \
        contents.

        With --ledger and --dataset the cost is charged to the dataset's budget \
        before any record is read: nothing is released if the budget would be \
        exceeded (exit code 1) or the dataset's neighbouring relation (fixed \
        with its budget) differs (exit code 2). Without --relation a ledger \
        release uses the dataset's relation. A failure after the charge (a \
        quoted field never closed, a read error) keeps the charge. --store URL \
        (or MODELSEC_STORE) charges a shared store instead (sqlite:PATH or \
        postgres://...; docs/store.md). With --request-id ID a retry is never \
        charged twice: a repeated ID is refused (exit code 2) naming the \
        charges it made, and nothing is released again.

        --privacy-id COLUMN --max-rows-per-id K keeps the first K rows of each \
        person (rows without a readable id are left out) and multiplies every \
        sensitivity by K; it needs add-remove. --group-by COLUMN releases count, \
        sum or mean per value of COLUMN; groups are selected privately (only a \
        group whose noisy count reaches a threshold set by epsilon and --delta is \
        shown), add-remove and laplace only.

        A delta above 1e-3 is refused unless --force; a delta of at least 1/n \
        (n as released: exact under replace-one, noisy otherwise) is warned \
        about unless --force.

        Examples:
          modelsec dp release --input train.csv --column label \\
              --statistic count --epsilon 0.1
          modelsec dp release --input train.csv --column age \\
              --statistic mean --bounds 0,100 --epsilon 1 --json
          modelsec dp release --input train.csv --column label \\
              --statistic histogram --categories cat,dog,bird \\
              --epsilon 0.5
          modelsec dp release --input train.csv --column income \\
              --statistic quantile --quantile 0.5 --bounds 0,200000 \\
              --epsilon 1
          modelsec dp release --input train.csv --column age \\
              --statistic sum --bounds 0,100 --epsilon 1 --delta 1e-6 \\
              --mechanism gaussian \\
              --ledger privacy.db --dataset train-v3
          modelsec dp release --input visits.csv --column minutes \\
              --statistic mean --bounds 0,120 --epsilon 1 \\
              --privacy-id patient --max-rows-per-id 5
          modelsec dp release --input train.csv --column label \\
              --statistic count --epsilon 0.1 --store postgres://dp@db/ledger \\
              --dataset train-v3 --request-id run-4711
          modelsec dp release --input visits.csv --column minutes \\
              --statistic count --group-by diagnosis --epsilon 1 \\
              --delta 1e-6 \\
              --privacy-id patient --max-rows-per-id 3
        """
    )

    enum StatisticName: String, ExpressibleByArgument, CaseIterable {
        case count, sum, mean, variance, histogram, quantile
        case vectorSum = "vector-sum", covariance

        /// The statistics of several columns (VectorAccumulator).
        var isVector: Bool { self == .vectorSum || self == .covariance }
    }

    @Option(help: ArgumentHelp("The CSV file (with a header row).", valueName: "FILE.csv"))
    var input: String

    @Option(help: ArgumentHelp("The column to release.", valueName: "NAME"))
    var column: String?

    @Option(help: ArgumentHelp("The columns of vector-sum or covariance, in order.", valueName: "a,b,c"))
    var columns: String?

    @Option(name: .customLong("clip-norm"), parsing: .unconditional, help: ArgumentHelp("vector-sum and covariance: each row's vector is clipped to this L2 norm.", valueName: "C"))
    var clipNorm: Double?

    @Option(help: "count, sum, mean, variance, histogram, quantile, vector-sum or covariance.")
    var statistic: StatisticName

    @Option(parsing: .unconditional, help: ArgumentHelp("Clamping bounds, e.g. 0,100, or auto to choose them privately (required for sum, mean, variance, quantile).", valueName: "L,U|auto"))
    var bounds: String?

    @Option(name: .customLong("bounds-share"), parsing: .unconditional, help: ArgumentHelp("With --bounds auto: the share of --epsilon spent on choosing the bounds (default 0.25).", valueName: "F"))
    var boundsShare: Double?

    @Option(help: ArgumentHelp("Declared histogram categories, e.g. cat,dog (values outside are dropped).", valueName: "a,b,c"))
    var categories: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("The quantile level in [0, 1] (default 0.5).", valueName: "Q"))
    var quantile: Double?

    @Option(parsing: .unconditional, help: "Number of evenly spaced candidate values for a quantile.")
    var candidates: Int = 1001

    @Option(name: .customLong("quantile-sampler"), help: "rejection (default; exponential mechanism, running time depends on the data) or fixed-work (permute-and-flip, the same work for every candidate).")
    var quantileSampler: QuantileSampler?

    @Option(parsing: .unconditional, help: ArgumentHelp("The release's epsilon.", valueName: "E"))
    var epsilon: Double

    @Option(parsing: .unconditional, help: ArgumentHelp("The release's delta (gaussian only).", valueName: "D"))
    var delta: Double?

    @Option(name: .customLong("mechanism"), help: "laplace (pure epsilon, default) or gaussian (zCDP, needs --delta; the only one for vector-sum and covariance).")
    var mechanismOption: NoiseMechanism?

    /// The noise family (laplace unless given; vector statistics are gaussian).
    var mechanism: NoiseMechanism { mechanismOption ?? (statistic.isVector ? .gaussian : .laplace) }

    @Option(help: "Neighbouring relation: add-remove or replace-one (default: the ledger dataset's, else add-remove).")
    var relation: NeighbouringRelation?

    @Option(help: ArgumentHelp("What invalid values become: clamp (default), drop or impute=VALUE.", valueName: "RULE"))
    var invalid: String = "clamp"

    @Option(name: .customLong("privacy-id"), help: ArgumentHelp("Column naming the person each row belongs to (bounds rows per person).", valueName: "COLUMN"))
    var privacyID: String?

    @Option(name: .customLong("max-rows-per-id"), help: ArgumentHelp("With --privacy-id: rows kept per person (the first K); sensitivities scale by K.", valueName: "K"))
    var maxRowsPerID: Int?

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Release count, sum or mean per value of this column, with private partition selection (needs --delta).", valueName: "COLUMN"))
    var groupBy: String?

    @Flag(help: "Accept a delta above 1e-3 and do not warn when delta >= 1/n.")
    var force = false

    @Option(help: ArgumentHelp("Privacy-budget ledger (SQLite file) to charge.", valueName: "DB"))
    var ledger: String?

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("request-id"),
            help: ArgumentHelp("Idempotency key of the charge: a retry with the same id is never charged twice.", valueName: "ID"))
    var requestID: String?

    @Option(help: ArgumentHelp("Dataset name in the ledger.", valueName: "NAME"))
    var dataset: String?

    @Flag(help: "Print the release as JSON.")
    var json = false

    func validate() throws {
        try DPLedgerChoice.validate(ledger: ledger, options: storeOptions)
        if (ledger != nil || storeOptions.store != nil) && dataset == nil { throw ValidationError("--ledger and --store need --dataset NAME") }
        if dataset != nil && ledger == nil && storeOptions.urlText == nil {
            throw ValidationError("--dataset needs --ledger DB or --store URL (or MODELSEC_STORE)")
        }
        if requestID != nil && dataset == nil { throw ValidationError("--request-id goes with --dataset and a ledger") }
        if statistic.isVector {
            _ = try makeVector(relation: relation ?? .addRemove)
            return
        }
        if column == nil { throw ValidationError("--statistic \(statistic.rawValue) needs --column NAME") }
        if columns != nil || clipNorm != nil { throw ValidationError("--columns and --clip-norm are for vector-sum and covariance") }
        if statistic != .histogram && categories != nil { throw ValidationError("--categories is for --statistic histogram") }
        if statistic != .quantile && quantile != nil { throw ValidationError("--quantile is for --statistic quantile") }
        if statistic != .quantile && quantileSampler != nil { throw ValidationError("--quantile-sampler is for --statistic quantile") }
        if boundsShare != nil && bounds != "auto" { throw ValidationError("--bounds-share goes with --bounds auto") }
        if let boundsShare, !(boundsShare > 0 && boundsShare < 1) { throw ValidationError("--bounds-share must be strictly between 0 and 1") }
        if bounds == "auto" && groupBy != nil { throw ValidationError("--bounds auto is not available with --group-by") }
        if maxRowsPerID != nil && privacyID == nil { throw ValidationError("--max-rows-per-id goes with --privacy-id COLUMN") }
        if let delta, delta > DPDeltaPolicy.largestUnforcedDelta, !force {
            throw ValidationError(DPDeltaPolicy.largeDeltaMessage(delta))
        }
        _ = try makeSpec(relation: relation ?? .addRemove)
    }

    func makeSpec(relation: NeighbouringRelation) throws -> StatisticSpec {
        var range: ClosedRange<Double>?
        if bounds == "auto" {
            range = 0...1   // a placeholder: the bounds are chosen privately from the data
        } else if let bounds {
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
            guard let categories, !categories.isEmpty else { throw ValidationError("--statistic histogram needs --categories a,b,c (the categories known in advance); when they are not, release --statistic count --group-by COLUMN with --delta, which selects the categories privately") }
            stat = .histogram(categories: categories.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        case .quantile: stat = .quantile(q: quantile ?? 0.5, candidates: candidates)
        case .vectorSum, .covariance: throw ValidationError("--statistic \(statistic.rawValue) takes --columns and --clip-norm")
        }
        do {
            let spec = StatisticSpec(statistic: stat, bounds: range, relation: relation, mechanism: mechanism,
                                     epsilon: boundsEpsilon.map { epsilon - $0 } ?? epsilon, delta: delta ?? 0, invalid: try InvalidValueRule(argument: invalid),
                                     maxRowsPerID: maxRowsPerID ?? 1, groupBy: groupBy != nil,
                                     quantileSampler: quantileSampler ?? .rejection)
            // Every check that needs no data.
            if spec.groupBy { _ = try GroupedAccumulator(spec: spec) } else { _ = try StatisticAccumulator(spec: spec) }
            if let boundsEpsilon {
                guard spec.isNumeric else { throw ValidationError("--bounds auto is for sum, mean, variance and quantile") }
                _ = try ApproxBounds(epsilon: boundsEpsilon, maxRowsPerID: spec.maxRowsPerID, relation: relation)
            }
            return spec
        } catch let error as DPError { throw ValidationError(error.description) }
    }

    /// The column list of a vector statistic.
    var columnList: [String] { columns.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? [] }

    /// The accumulator of vector-sum or covariance (validates their options).
    func makeVector(relation: NeighbouringRelation) throws -> VectorAccumulator {
        guard column == nil, columns != nil else { throw ValidationError("--statistic \(statistic.rawValue) takes --columns a,b,c (not --column)") }
        guard let clipNorm else { throw ValidationError("--statistic \(statistic.rawValue) needs --clip-norm C") }
        guard mechanism == .gaussian else { throw ValidationError("vector-sum and covariance use gaussian noise") }
        guard let delta else { throw ValidationError("--statistic \(statistic.rawValue) uses gaussian noise and needs --delta") }
        if bounds != nil || categories != nil || quantile != nil || groupBy != nil || quantileSampler != nil || invalid != "clamp" {
            throw ValidationError("--bounds, --categories, --quantile, --quantile-sampler, --group-by and --invalid do not apply to \(statistic.rawValue) (rows are clipped to --clip-norm; a row with an invalid value is the zero vector)")
        }
        if delta > DPDeltaPolicy.largestUnforcedDelta, !force {
            throw ValidationError(DPDeltaPolicy.largeDeltaMessage(delta))
        }
        if maxRowsPerID != nil && privacyID == nil { throw ValidationError("--max-rows-per-id goes with --privacy-id COLUMN") }
        do {
            return try VectorAccumulator(kind: statistic == .vectorSum ? .vectorSum : .covariance, dimension: columnList.count,
                                         clipNorm: clipNorm, epsilon: epsilon, delta: delta, relation: relation,
                                         maxRowsPerID: maxRowsPerID ?? 1)
        } catch let error as DPError { throw ValidationError(error.description) }
    }

    /// Runs a vector statistic.
    func runVector(ledgerStore: (any PrivacyLedger)?, relation: NeighbouringRelation) throws {
        let accumulator = try makeVector(relation: relation)
        var rng = SecureRandomSource()
        let release = try accumulator.release(path: input, columns: columnList, privacyID: privacyID,
                                              ledger: ledgerStore, dataset: dataset, using: &rng)
        if json { try CLI.printResult(release); return }
        CLI.printLine("statistic:  \(release.statistic) of columns \(release.columns.joined(separator: ", ")), rows clipped to L2 norm \(release.clipNorm)")
        if let v = release.vector { print("value:      \(v)") }
        if let h = release.noiseHalfWidth95 { print("noise:      |noise| <= \(h) per coordinate with probability 95%") }
        if let m = release.matrix { for row in m { print("  \(row)") } }
        print("mechanism:  \(release.mechanism), \(release.relation.rawValue)")
        print("cost:       \(release.cost)")
        if let dataset, let ledgerStore {
            CLI.printLine("ledger:     charged to dataset '\(dataset)', remaining \(try ledgerStore.status(dataset: dataset).remaining)")
        }
    }

    /// With --bounds auto: the epsilon spent on choosing the bounds.
    var boundsEpsilon: Double? { bounds == "auto" ? epsilon * (boundsShare ?? 0.25) : nil }

    func run() throws {
        try DPHints.run {
            var ledgerStore: (any PrivacyLedger)? = try dataset == nil ? nil : DPLedgerChoice.open(ledger: ledger, options: storeOptions)
            if let requestID, let base = ledgerStore { ledgerStore = try RequestScopedLedger(base, requestID: requestID) }
            var chosen = relation ?? .addRemove
            if relation == nil, let ledgerStore, let dataset { chosen = try ledgerStore.status(dataset: dataset).relation }
            if statistic.isVector { try runVector(ledgerStore: ledgerStore, relation: chosen); return }
            let column = column!
            let spec = try makeSpec(relation: chosen)
            var rng = SecureRandomSource()
            let release = try CSVRelease.release(path: input, columns: CSVRelease.Columns(value: column, privacyID: privacyID, groupBy: groupBy),
                                                 spec: spec, boundsEpsilon: boundsEpsilon, ledger: ledgerStore, dataset: dataset, using: &rng)
            if !force, let warning = DPDeltaPolicy.smallSampleWarning(delta: spec.delta, recordCount: release.recordCount) {
                CLI.warn(warning)
            }
            if json { try CLI.printResult(release); return }
            CLI.printLine("statistic:  \(release.statistic) of column '\(column)'\(release.quantile.map { " (q = \($0))" } ?? "")")
            if let value = release.value { print("value:      \(value)") }
            if let groups = release.groups {
                print("groups:     \(groups.count) released (a group needs a noisy count of at least \(release.partitionThreshold ?? 0))")
                for g in groups { CLI.printLine("  \(g.key): count \(g.count)\(g.value.map { ", \(release.statistic) \($0)" } ?? "")") }
            }
            if let bins = release.histogram {
                for bin in bins { CLI.printLine("  \(bin.category): \(bin.count)") }
            }
            if let ci = release.confidenceInterval95 { print("95% CI:     [\(ci[0]), \(ci[1])] (noise only)") }
            if let h = release.noiseHalfWidth95 { print("noise:      |noise| <= \(h) with probability 95%\(release.histogram != nil ? " per bin" : "")") }
            if let r = release.rankErrorBound95, case .quantile(_, let m) = spec.statistic, let bounds = release.bounds, bounds.count == 2 {
                // The utility bound is relative to the best candidate, not to the true quantile.
                let step = m > 1 ? (bounds[1] - bounds[0]) / Double(m - 1) : 0
                print("rank error: <= \(r) records more than the best of the \(m) candidates (\(step) apart), with probability 95%")
                print("            (records closer together than \(step) share a rank on this grid: for a column whose values")
                print("            span much less than the bounds, narrow --bounds or raise --candidates)")
            }
            print("mechanism:  \(release.mechanism), \(release.relation.rawValue), invalid values: \(spec.invalid)")
            print("cost:       \(release.cost)")
            if let b = release.boundsSelection {
                print("bounds:     [\(b.lower), \(b.upper)] chosen privately with epsilon \(b.epsilon) (charged separately)")
            }
            if let dataset, let ledgerStore {
                let status = try ledgerStore.status(dataset: dataset)
                CLI.printLine("ledger:     charged to dataset '\(dataset)', remaining \(status.remaining)")
                print("recorded:   result sha256 \(SHA2.SHA256.hash(data: try release.canonicalBytes()).hex)")
            }
        }
    }
}

extension NoiseMechanism: ExpressibleByArgument {}
extension QuantileSampler: ExpressibleByArgument {}
extension NeighbouringRelation: ExpressibleByArgument {}
