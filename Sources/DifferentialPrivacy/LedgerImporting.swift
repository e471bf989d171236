/// A ledger that can take a whole ledger's contents at once (the
/// destination of `modelsec store copy`). The import is one transaction:
/// all of it or nothing.
public protocol LedgerImporting {
    /// Creates each dataset with its relation and total, then appends each
    /// charge with its cost, outcome, digests, mechanism, parameters and
    /// time, in the order given. Throws if any dataset already exists.
    func importLedger(statuses: [BudgetStatus], spends: [SpendRecord]) throws
}

extension LedgerRules {
    /// A charge record's stored amounts (the record's costs were read from
    /// units, so converting back rounds to the same units).
    package static func amount(of record: SpendRecord) throws -> Amount {
        Amount(epsilon: try SQLitePrivacyLedger.units(record.cost.epsilon, epsilonUnit, roundUp: true),
               delta: try SQLitePrivacyLedger.units(record.cost.delta, deltaUnit, roundUp: true),
               rho: try record.cost.rho.map { try SQLitePrivacyLedger.units($0, rhoUnit, roundUp: true) })
    }
}
