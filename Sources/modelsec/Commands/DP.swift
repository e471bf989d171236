import ArgumentParser

/// `modelsec dp …`: differentially private statistics, budgets and DP-SGD accounting.
struct DPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp",
        abstract: "Differentially private statistics, privacy budgets and DP-SGD accounting.",
        discussion: """
        Noise comes from exact integer samplers (discrete Laplace and discrete \
        Gaussian) driven by the operating system's CSPRNG. See docs/privacy.md.

        Examples:
          modelsec dp release --input train.csv --column age \\
              --statistic mean --bounds 0,100 --epsilon 0.5
          modelsec dp budget --ledger privacy.db --dataset train-v3 --set-total 3
          modelsec dp sgd --noise-multiplier 1.1 --sample-rate 0.01 \\
              --epochs 10 --delta 1e-5
        """,
        subcommands: [DPReleaseCommand.self, DPBudgetCommand.self, DPSGDCommand.self]
    )
}
