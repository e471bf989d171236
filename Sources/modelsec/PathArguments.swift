/// Checks on path values that hold for every command, made once on the
/// command line as typed (after it parsed): an empty path (`--key ""`) is a
/// usage error naming the option, and `-` is standard output only for the
/// options that can stream there, never a file named `-`.
extension CommandTree {
    /// The value names (ArgumentParser's `valueName`) of options that take a
    /// path, whatever the command.
    static let pathValueNames: Set<String> = [
        "CERT.pem", "CHAIN.pem", "CRL.pem", "DB", "DIR", "FILE", "FILE.csv", "FILE.yaml", "KEY", "KEY.pem", "MODEL_DIR",
        "OLD_CHECKPOINT", "OUTPUT", "PATH", "PRIVATE.pem", "PRIVATE_KEY", "PUB.pem", "REL", "RELATIVE_PATH", "RELEASE_DIR",
        "ROOTS.pem", "SIG", "VKEY", "PROOF", "identity-passphrase-file", "passphrase-file",
    ]

    /// Options that name where a command writes.
    static let outputOptions: Set<String> = ["output", "out", "save-checkpoint", "secret-out", "public-key-out", "ledger"]

    /// Commands whose output option takes `-` for standard output.
    static let streamingCommands: Set<[String]> = [
        ["sign"], ["audit"], ["encrypt"], ["decrypt"], ["token", "issue"], ["token", "jwks"], ["token", "fetch"],
    ]

    /// False when no word is empty or `-` (alone or after `=`): then
    /// ``pathProblem(in:)`` has nothing to find, and the command tree (whose
    /// construction reflects over every command, about 40% of a short
    /// command's start-up) need not be built.
    static func mayHavePathProblem(_ arguments: [String]) -> Bool {
        arguments.contains { $0.isEmpty || $0 == "-" || $0.hasSuffix("=") || $0.hasSuffix("=-") }
    }

    /// The first empty path value, or `-` given to an output option of a
    /// command that cannot write to standard output, as a usage error; nil
    /// when there is none.
    func pathProblem(in arguments: [String]) -> CLIError? {
        var node = command
        var path: [String] = []
        var index = 0
        // The command: leading words that name subcommands.
        while index < arguments.count, let subcommands = node.subcommands,
              let next = subcommands.first(where: { $0.commandName == arguments[index] }) {
            node = next
            path.append(next.commandName)
            index += 1
        }
        let options = node.arguments ?? []
        func option(named name: String, short: Bool) -> Argument? {
            options.first { ($0.names ?? []).contains { $0.name == name && ($0.kind == "short") == short } }
        }
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" { break }
            guard word.hasPrefix("-"), word.count > 1 else { continue }
            let long = word.hasPrefix("--")
            let body = word.dropFirst(long ? 2 : 1)
            let name: String, value: String?
            if let equals = body.firstIndex(of: "="), long {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
                value = nil
            }
            guard let argument = option(named: name, short: !long), argument.kind == "option" else { continue }
            let given: String
            if let value { given = value } else if index < arguments.count { given = arguments[index]; index += 1 } else { continue }
            let flag = (long ? "--" : "-") + name
            if given.isEmpty, let valueName = argument.valueName, Self.pathValueNames.contains(valueName) {
                return CLIError(.missingArgument, "\(flag) is empty: give a path")
            }
            let longNames = (argument.names ?? []).filter { $0.kind == "long" }.map(\.name)
            if given == "-", longNames.contains(where: Self.outputOptions.contains), !Self.streamingCommands.contains(path) {
                return CLIError(.invalidArguments, "\(flag) -: modelsec \(path.joined(separator: " ")) cannot write to standard output; give a file name")
            }
        }
        return nil
    }
}
