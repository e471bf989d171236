import ArgumentParser

/// `--json`: print the result as JSON on stdout instead of text. Shared by
/// the commands whose help needs no more words than that; a command that
/// says more about what its JSON holds declares its own flag.
struct JSONOption: ParsableArguments {
    @Flag(name: .customLong("json"), help: "Print the result as JSON.")
    var isOn = false
}
