import ArgumentParser

/// `modelsec log …`: a transparency log of releases (C2SP tlog-tiles,
/// checkpoints, cosignatures and tlog-proof files).
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Run a transparency log of releases: append, verify, prove inclusion, witness, monitor.",
        discussion: """
        A log is a directory of static files in the C2SP tlog-tiles layout \
        (checkpoint, tile/<L>/<N>, tile/entries/<N>) that any web server can \
        serve. Checkpoints are C2SP signed notes by the log key; witnesses add \
        C2SP cosignatures; proofs are c2sp.org/tlog-proof@v1 files. Formats: \
        docs/transparency-log.md.

        Examples:
          modelsec keygen --type ed25519 --out log.pem
          modelsec log init --origin example.com/models --key log.pem \\
              models-log/ > log.vkey
          modelsec log append models-log/ --key log.pem --release bert-1.0.0
          modelsec log publish /var/www/models-log --store postgres://web@db/modelsec \\
              --origin example.com/models
          modelsec log prove models-log/ --log-key log.vkey \\
              --release bert-1.0.0 --force
          modelsec log verify models-log/ --log-key log.vkey
          modelsec log monitor models-log/ --log-key log.vkey \\
              --key-id KEY_ID
        """,
        subcommands: [LogInit.self, LogAppend.self, LogPublish.self, LogVerify.self, LogProve.self, LogCheckProof.self, LogCosign.self, LogAddCosignatures.self, LogMonitor.self]
    )
}
