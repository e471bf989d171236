import ArgumentParser

/// `modelsec policy`: work with policy files.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with audit policies (YAML; schema in docs/policy.md).",
        discussion: """
        Examples:
          modelsec policy lint policies/baseline.yaml
          modelsec policy lint policies/strict.yaml --json
        """,
        subcommands: [PolicyLint.self]
    )
}
