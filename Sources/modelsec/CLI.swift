import Foundation
import ModelSec

/// Shared helpers for command implementations: output, errors, exit codes.
enum CLI {
    /// Ends the process with `code` after the command has printed its report.
    struct Exit: Error { let code: Int32 }

    /// Prints `modelsec: error: MESSAGE` to stderr and exits with `code`.
    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("modelsec: error: \(message)\n".utf8))
        exit(code)
    }

    /// Prints a warning line to stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("modelsec: warning: \(message)\n".utf8))
    }

    /// Prints `value` as pretty, key-sorted JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// The passphrase source named by `--passphrase-file` / `--passphrase-env`.
    static func passphraseSource(file: String?, env: String?) -> PassphraseSource? {
        if let file { return .file(file) }
        if let env { return .environment(env) }
        return nil
    }
}

extension CLI {
    /// Prints an informational line to stderr (stdout stays machine-readable).
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("modelsec: \(message)\n".utf8))
    }
}

extension CLI {
    /// Loads the signing key at `path`, first checking (as ssh does) that the
    /// file cannot be read by the group or others: a warning, or a refusal
    /// under `--strict-permissions`.
    static func loadSigningKey(_ path: String, passphrase: PassphraseSource?, permissions: KeyPermissionOptions) throws -> SigningPrivateKey {
        try permissions.check(path)
        return try KeyFile.loadSigningKey(path, passphrase: passphrase)
    }
}

extension CLI {
    /// Loads decryption identities: X25519 private keys (encrypted ones with
    /// `passphrase`) and `aes256` key files, each after the permission check.
    static func loadIdentities(privateKeyFiles: [String], symmetricKeyFiles: [String], passphrase: PassphraseSource?,
                               permissions: KeyPermissionOptions) throws -> [Identity] {
        var identities: [Identity] = []
        for path in privateKeyFiles {
            try permissions.check(path)
            identities.append(try Identity.load(privateKeyFile: path, passphrase: passphrase))
        }
        for path in symmetricKeyFiles {
            try permissions.check(path)
            identities.append(try Identity.load(symmetricKeyFile: path))
        }
        return identities
    }
}
