import Foundation
import ModelSec

/// Shared helpers for command implementations: output, errors, exit codes.
enum CLI {
    /// Ends the process with `code` after the command has printed its report.
    struct Exit: Error { let code: Int32 }

    /// The exit code of a failure category: 1 for a failed check, 2 for
    /// unusable input (the one place the mapping lives).
    static func exitCode(_ category: FailureCategory) -> Int32 {
        switch category {
        case .verificationFailed: return 1
        case .invalidInput: return 2
        }
    }

    /// Prints `modelsec: error: MESSAGE` to stderr and exits with `code`.
    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("modelsec: error: \(terminalSafe(message))\n".utf8))
        exit(code)
    }

    /// Prints a warning line to stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("modelsec: warning: \(terminalSafe(message))\n".utf8))
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
        FileHandle.standardError.write(Data("modelsec: \(terminalSafe(message))\n".utf8))
    }

    /// `text` with every character that a terminal would act on written as
    /// `\u{…}`: C0 and C1 control characters (escape sequences that clear the
    /// screen or retitle the window start with them), DEL, and the Unicode
    /// bidirectional overrides and isolates (which reorder what is shown).
    /// File names, metadata and claims come from untrusted models and
    /// tokens; every text line that may carry them goes through this.
    static func terminalSafe(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let dangerous = v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)
                || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
            if dangerous {
                out.append(contentsOf: "\\u{\(String(v, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Prints one line of a text report on stdout, untrusted parts made safe.
    static func printLine(_ text: String) {
        print(terminalSafe(text))
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
                               permissions: KeyPermissionOptions) throws -> [any Identity] {
        var identities: [any Identity] = []
        for path in privateKeyFiles {
            try permissions.check(path)
            identities.append(try X25519Identity(privateKeyFile: path, passphrase: passphrase))
        }
        for path in symmetricKeyFiles {
            try permissions.check(path)
            identities.append(try SymmetricKeyIdentity(keyFile: path))
        }
        return identities
    }
}
