import Foundation
import GRDB
import ModelSecStore

/// Upgrades older ledgers inside the caller's exclusive transaction:
/// version 1 (no per-dataset relation, no outcomes, no data digests) to
/// version 2, and version 2 (no zCDP rho) to version 3.
///
/// Version 2 to 3: every charge is copied unchanged with no rho, so a
/// Gaussian charge made before version 3 keeps counting as the
/// (epsilon, delta) it was charged as (sound, only less tight than zCDP
/// accounting would have been).
///
/// Version 1 to 2:
///
/// Each version 1 charge's relation is read from its recorded parameters
/// (`"relation"`, add-remove if absent). A dataset takes the relation of its
/// charges. A dataset whose charges used both relations is fixed to
/// replace-one and charged an *adjustment*: under replace-one, an
/// (epsilon, delta) add-remove release is (2 epsilon, (1 + e^epsilon) delta)-DP
/// (a replacement is a removal and an addition), so each add-remove charge
/// is charged again with (epsilon, e^epsilon delta), rounded up.
enum LedgerMigration {
    private struct OldSpend {
        var id: Int64, dataset: String, epsilon: Int64, delta: Int64
        var mechanism: String, parameters: String, created: String, result: String
        var relation: NeighbouringRelation
    }

    static func upgradeVersion1(_ db: Database) throws {
        let datasets = try Row.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY name")
        let spends = try Row.fetchAll(db, sql: "SELECT * FROM spends ORDER BY id").map { row -> OldSpend in
            let parameters: String = row["parameters"]
            return OldSpend(id: row["id"], dataset: row["dataset"], epsilon: row["epsilon_nano"], delta: row["delta_femto"],
                            mechanism: row["mechanism"], parameters: parameters, created: row["created_at"],
                            result: row["result_sha256"], relation: relation(ofParameters: parameters))
        }
        try db.execute(sql: "DROP TABLE spends; DROP TABLE datasets; DROP TABLE grdb_migrations")
        try LedgerSchema.create(db, statements: LedgerSchema.version2Statements, version: 2)
        for d in datasets {
            let name: String = d["name"]
            let own = spends.filter { $0.dataset == name }
            let relations = Set(own.map(\.relation))
            let relation: NeighbouringRelation = relations.contains(.replaceOne) ? .replaceOne : .addRemove
            try db.execute(sql: """
                INSERT INTO datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [name, relation.rawValue, d["total_epsilon_nano"] as Int64, d["total_delta_femto"] as Int64,
                                 d["created_at"] as String, d["updated_at"] as String])
        }
        for s in spends {
            try db.execute(sql: """
                INSERT INTO spends (id, dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome, result_sha256)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'released', ?)
                """, arguments: [s.id, s.dataset, s.relation.rawValue, s.epsilon, s.delta, s.mechanism, s.parameters, s.created, s.result])
        }
        for name in Set(spends.map(\.dataset)).sorted() {
            let own = spends.filter { $0.dataset == name }
            guard Set(own.map(\.relation)).count == 2 else { continue }
            let addRemove = own.filter { $0.relation == .addRemove }
            var epsilon: Int64 = 0
            var delta = 0.0
            for s in addRemove {
                let (e, overflow) = epsilon.addingReportingOverflow(s.epsilon)
                epsilon = overflow ? Int64.max : e
                delta += (Double(s.delta) * exp(Double(s.epsilon) / SQLitePrivacyLedger.epsilonUnit)).rounded(.up)
            }
            let parameters = "{\"reason\":\"charges under both relations before the relation was fixed per dataset; each add-remove charge (epsilon, delta) costs a further (epsilon, e^epsilon delta) under replace-one\",\"spends\":[\(addRemove.map { String($0.id) }.joined(separator: ","))]}"
            try db.execute(sql: """
                INSERT INTO spends (dataset, relation, epsilon_nano, delta_femto, mechanism, parameters, created_at, outcome)
                VALUES (?, 'replace-one', ?, ?, 'relation-adjustment', ?, ?, 'adjustment')
                """, arguments: [name, epsilon, Int64(min(delta, SQLitePrivacyLedger.deltaUnit)), parameters, SQLitePrivacyLedger.now()])
        }
    }

    /// The relation recorded in a version 1 charge's parameters JSON.
    static func relation(ofParameters text: String) -> NeighbouringRelation {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let name = object["relation"] as? String, let relation = NeighbouringRelation(rawValue: name) else { return .addRemove }
        return relation
    }

    /// Version 3 to version 4: the request-id table and its triggers are
    /// added; no row changes.
    static func upgradeVersion3(_ db: Database) throws {
        for statement in LedgerSchema.requestStatements { try db.execute(sql: statement) }
        try db.execute(sql: "PRAGMA user_version = 4")
    }

    /// Version 4 to version 6: the running-sum columns and their trigger
    /// are added, and each dataset's sums are computed from its charges.
    static func upgradeVersion4(_ db: Database) throws {
        for statement in LedgerSchema.sumsStatements { try db.execute(sql: statement) }
        try db.execute(sql: LedgerRules.sumsBackfill(datasets: "datasets", spends: "spends"))
        try db.execute(sql: "PRAGMA user_version = 6")
    }

    /// Version 6 to version 7: the transparency log's tables are added
    /// (``ModelSecStore/ReleaseLogSchema``); no row changes.
    static func upgradeVersion6(_ db: Database) throws {
        for statement in ReleaseLogSchema.sqliteStatements { try db.execute(sql: statement) }
        try db.execute(sql: "PRAGMA user_version = \(LedgerSchema.version)")
    }

    /// Version 2 to version 3: the tables are rebuilt with the version 3
    /// text (SQLite cannot add a column without changing the stored
    /// `CREATE TABLE` text) and every row is copied with `rho_femto` NULL.
    static func upgradeVersion2(_ db: Database) throws {
        let datasets = try Row.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY name")
        let spends = try Row.fetchAll(db, sql: "SELECT * FROM spends ORDER BY id")
        try db.execute(sql: """
            DROP TRIGGER spends_are_append_only; DROP TRIGGER spends_complete_once;
            DROP TRIGGER datasets_are_kept; DROP TRIGGER datasets_keep_name_and_relation;
            DROP INDEX spends_dataset; DROP TABLE spends; DROP TABLE datasets;
            """)
        try LedgerSchema.create(db)
        for d in datasets {
            try db.execute(sql: """
                INSERT INTO datasets (name, relation, total_epsilon_nano, total_delta_femto, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [d["name"] as String, d["relation"] as String, d["total_epsilon_nano"] as Int64,
                                 d["total_delta_femto"] as Int64, d["created_at"] as String, d["updated_at"] as String])
        }
        for s in spends {
            try db.execute(sql: """
                INSERT INTO spends (id, dataset, relation, epsilon_nano, delta_femto, rho_femto, mechanism, parameters,
                                    created_at, outcome, data_sha256, result_sha256)
                VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)
                """, arguments: [s["id"] as Int64, s["dataset"] as String, s["relation"] as String, s["epsilon_nano"] as Int64,
                                 s["delta_femto"] as Int64, s["mechanism"] as String, s["parameters"] as String,
                                 s["created_at"] as String, s["outcome"] as String,
                                 s["data_sha256"] as String?, s["result_sha256"] as String?])
        }
    }
}
