import ArgumentParser
import ModelSec

/// `modelsec dp budget`: set or show privacy budgets in a ledger.
struct DPBudgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Set or show per-dataset privacy budgets in a ledger.",
        discussion: """
        Charges compose in their own units: pure epsilons (Laplace, exponential) \
        add, zCDP rhos (Gaussian releases) add and are converted to (epsilon, \
        delta) once, with the delta left by the other charges; the smaller of \
        that and plain basic composition must fit the dataset's total. A \
        dataset's neighbouring relation (--relation, default add-remove) is fixed \
        when its budget is first set: every release against it must use that \
        relation, and it cannot change once the dataset has charges. A total \
        delta above 1e-3 is refused unless --force.

        --show lists every dataset, or one dataset and its recorded charges \
        (mechanism, parameters, time, outcome, the SHA-256 of the input data and \
        of each released result). The data digests are as sensitive as the data: \
        keep the ledger readable only by the data's curators.

        The ledger is --ledger DB (an SQLite file) or --store URL (also \
        MODELSEC_STORE): sqlite:PATH or a shared PostgreSQL store, which \
        must have been prepared with `modelsec store migrate` (docs/store.md).

        Examples:
          modelsec dp budget --ledger privacy.db --dataset train-v3 \\
              --set-total 3 --delta 1e-6
          modelsec dp budget --ledger privacy.db --dataset survey \\
              --set-total 1 --relation replace-one
          modelsec dp budget --ledger privacy.db --show
          modelsec dp budget --ledger privacy.db --dataset train-v3 --show --json
          modelsec dp budget --store postgres://dp@db/ledger --show
        """
    )

    @Option(help: ArgumentHelp("The ledger database, an SQLite file (created if missing).", valueName: "DB"))
    var ledger: String?

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The dataset.", valueName: "NAME"))
    var dataset: String?

    @Option(name: .customLong("set-total"), parsing: .unconditional, help: ArgumentHelp("Set the dataset's total epsilon.", valueName: "E"))
    var setTotal: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("The dataset's total delta (with --set-total; default 0).", valueName: "D"))
    var delta: Double?

    @Option(help: "The dataset's neighbouring relation, fixed with its budget: add-remove (default for a new dataset) or replace-one.")
    var relation: NeighbouringRelation?

    @Flag(help: "Accept a total delta above 1e-3.")
    var force = false

    @Flag(help: "Show budgets (all datasets, or --dataset with its releases).")
    var show = false

    @OptionGroup var json: JSONOption

    func validate() throws {
        try DPLedgerChoice.validate(ledger: ledger, options: storeOptions)
        if ledger == nil && storeOptions.urlText == nil { throw ValidationError("give --ledger DB or --store URL (or set MODELSEC_STORE)") }
        if show == (setTotal != nil) { throw ValidationError("give exactly one of --set-total E (with --dataset) or --show") }
        if setTotal != nil && dataset == nil { throw ValidationError("--set-total needs --dataset NAME") }
        if let setTotal, !(setTotal.isFinite && setTotal >= 0) { throw ValidationError("--set-total must be a finite epsilon >= 0") }
        if let delta, !(delta.isFinite && delta >= 0 && delta < 1) { throw ValidationError("--delta must be in [0, 1)") }
        if delta != nil && setTotal == nil { throw ValidationError("--delta goes with --set-total") }
        if relation != nil && setTotal == nil { throw ValidationError("--relation goes with --set-total") }
        if let delta, delta > DPDeltaPolicy.largestUnforcedDelta, !force { throw ValidationError(DPDeltaPolicy.largeDeltaMessage(delta)) }
    }

    /// `--show --dataset NAME --json`: the dataset's budget and its charges.
    struct DatasetReport: Encodable {
        var status: BudgetStatus
        var releases: [SpendRecord]
    }

    /// `--show --json` without --dataset: every dataset of the ledger.
    struct LedgerReport: Encodable {
        /// The ledger file.
        var ledger: String
        /// One budget per dataset, by name.
        var datasets: [BudgetStatus]
    }

    func run() throws {
        // Showing reads a ledger; it never creates one.
        if show, let ledger, !OutputGuard.exists(ledger) {
            throw FileError(path: ledger, reason: "no such ledger (dp budget --show does not create one; make it with --set-total)")
        }
        try DPHints.run {
            guard let store = try DPLedgerChoice.open(ledger: ledger, options: storeOptions) else { return }
            if let setTotal, let dataset {
                try store.setTotal(dataset: dataset, budget: PrivacyCost(epsilon: setTotal, delta: delta ?? 0), relation: relation)
                let status = try store.status(dataset: dataset)
                if status.spent.epsilon > status.total.epsilon || status.spent.delta > status.total.delta {
                    CLI.warn("dataset '\(dataset)' has already spent \(status.spent), more than the new total")
                }
                if json.isOn { try CLI.printResult(status) } else { print(Self.line(status)) }
                return
            }
            if let dataset {
                let report = DatasetReport(status: try store.status(dataset: dataset), releases: try store.spends(dataset: dataset))
                if json.isOn { try CLI.printResult(report); return }
                print(Self.line(report.status))
                for r in report.releases {
                    print("  #\(r.id) \(r.time) \(r.outcome.rawValue) \(r.mechanism) \(r.relation.rawValue) \(r.cost)")
                    print("     data sha256 \(r.dataSHA256 ?? "-"), result sha256 \(r.resultSHA256 ?? "-")")
                    print("     \(r.parameters)")
                }
                return
            }
            let all = try store.allStatuses()
            if json.isOn { try CLI.printResult(LedgerReport(ledger: try ledger ?? storeOptions.url()?.redacted ?? "the store", datasets: all)); return }
            let name = try ledger ?? storeOptions.url()?.redacted ?? "the store"
            if all.isEmpty { print("no datasets in \(name)") }
            for s in all { print(Self.line(s)) }
        }
    }

    static func line(_ s: BudgetStatus) -> String {
        let a = s.accounting
        var parts = ["pure epsilon \(a.pureEpsilon)", "zCDP rho \(a.rho)"]
        if a.approximateEpsilon > 0 || a.approximateDelta > 0 {
            parts.append("approximate (epsilon=\(a.approximateEpsilon), delta=\(a.approximateDelta))")
        }
        let rho = a.remainingRho.map { ", rho still available \($0)" } ?? ""
        return "\(s.dataset) (\(s.relation.rawValue)): total \(s.total), spent \(s.spent) by \(a.rule) composition of \(parts.joined(separator: ", ")), remaining \(s.remaining)\(rho), \(s.releases) charge(s)"
    }
}
