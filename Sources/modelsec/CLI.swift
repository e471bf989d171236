import Foundation
import ModelSec

/// Shared helpers for command implementations: output, errors, exit codes.
enum CLI {
    /// Ends the process with `code` after the command has printed its own
    /// report. With --json nothing more is printed, so a command that throws
    /// it must have printed its envelope; new code throws
    /// ``ReportedFailure`` instead.
    struct Exit: Error { let code: Int32 }

    /// The exit code of a failure category: 1 for a failed check, 2 for
    /// unusable input (the one place the mapping lives).
    static func exitCode(_ category: FailureCategory) -> Int32 {
        switch category {
        case .verificationFailed: return 1
        case .invalidInput: return 2
        }
    }

    /// Prints a warning line to stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("modelsec: warning: \(terminalSafe(message))\n".utf8))
    }

    /// Prints a command's `--json` result in the success envelope,
    /// `{"ok": true, ...}` (the same as ``printResult(_:)``; kept for the
    /// commands that call it by this name).
    static func printJSON<T: Encodable>(_ value: T) throws {
        try printResult(value)
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
        // Printable ASCII needs no escape (nearly every path and message);
        // rebuilding it scalar by scalar was most of a scan report's rendering.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isTerminalControl(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// `word` as one shell word for a command the user may copy: bare when it
    /// holds only characters no POSIX shell treats specially, else in single
    /// quotes (an embedded `'` written as `'\''`).
    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-_./:=@%+,".unicodeScalars.contains(scalar))
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// True for a character ``terminalSafe(_:)`` escapes: C0 and C1
    /// controls, DEL, the bidirectional embeddings and overrides
    /// (U+202A–U+202E), isolates (U+2066–U+2069), marks (U+200E, U+200F,
    /// U+061C), the line and paragraph separators (U+2028, U+2029). The one
    /// definition, also used for `--json` output.
    static func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v)
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
            || v == 0x2028 || v == 0x2029
    }

    /// Prints one line of a text report on stdout, untrusted parts made safe.
    static func printLine(_ text: String) {
        print(terminalSafe(text))
    }

    /// Prints a multi-line text report on stdout with each line made safe
    /// (its line breaks kept), for reports rendered by a library.
    static func printLines(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { terminalSafe(String($0)) }
        if lines.last == "" { lines.removeLast() }
        for line in lines { print(line) }
    }
}

extension CLI {
    /// Loads the signing key at `path`, named on the command line by
    /// `option`. A public key is refused first, with a message that says so
    /// (before any permission warning about it); then, as ssh does, a file
    /// the group or others can read is warned about, or refused under
    /// `--strict-permissions`.
    static func loadSigningKey(_ path: String, option: String = "--key", passphrase: PassphraseSource?,
                               permissions: KeyPermissionOptions) throws -> SigningPrivateKey {
        try refusePublicKey(path, option: option)
        try permissions.check(path)
        return try KeyFile.loadSigningKey(path, passphrase: passphrase)
    }

    /// The certificate trust of `--ca-roots`, `--crl`, `--certificate-identity`
    /// and `--certificate-oidc-issuer`, as `verify` and the deploy gate
    /// (`release verify`) both check a certificate signature with it.
    static func certificateTrust(caRoots: [String], crls: [String], identity: String?, oidcIssuer: String?) throws -> CertificateTrust {
        let roots = try caRoots.flatMap(loadCertificates)
        let revocations = try crls.flatMap { path in
            do { return try X509ChainVerifier.crls(pem: try FileIO.readText(path, limit: 64 << 20)) } catch let error as X509Error {
                throw CertificateError.path(error, path: path)
            }
        }
        return CertificateTrust(roots: roots, crls: revocations, identity: identity, oidcIssuer: oidcIssuer)
    }

    /// The certificates in the PEM file `path` (a chain or a set of roots).
    static func loadCertificates(_ path: String) throws -> [X509Certificate] {
        do { return try X509Certificate.chain(pem: try FileIO.readText(path, limit: 4 << 20)) } catch let error as X509Error {
            throw CertificateError.path(error, path: path)
        }
    }

    /// The signer `spec` names: a key in a PKCS#11 token when it is a
    /// `pkcs11:` URI (RFC 7512; the PIN from its `pin-source` or
    /// `MODELSEC_PKCS11_PIN`, never from the command line), else a key file,
    /// loaded as ``loadSigningKey(_:option:passphrase:permissions:)`` does.
    static func loadSigner(_ spec: String, option: String = "--key", passphrase: PassphraseSource?,
                           permissions: KeyPermissionOptions) throws -> any Signer {
        if PKCS11URI.isPKCS11URI(spec) {
            return try PKCS11SigningKey(uri: PKCS11URI(parsing: spec))
        }
        return try loadSigningKey(spec, option: option, passphrase: passphrase, permissions: permissions)
    }

    /// Loads decryption identities: X25519 private keys (encrypted ones with
    /// `passphrase`) and `aes256` key files, each refused when it is a public
    /// key and then permission-checked.
    static func loadIdentities(privateKeyFiles: [String], symmetricKeyFiles: [String], passphrase: PassphraseSource?,
                               permissions: KeyPermissionOptions, identityOption: String = "--identity") throws -> [any Identity] {
        var identities: [any Identity] = []
        for path in privateKeyFiles {
            try refusePublicKey(path, option: identityOption)
            try permissions.check(path)
            identities.append(try X25519Identity(privateKeyFile: path, passphrase: passphrase))
        }
        for path in symmetricKeyFiles {
            try refusePublicKey(path, option: "--key-file", symmetric: true)
            try permissions.check(path)
            identities.append(try SymmetricKeyIdentity(keyFile: path))
        }
        return identities
    }

    /// Throws `usage.public-key-given` when the file at `path` is a PEM
    /// public key (its first line is `-----BEGIN PUBLIC KEY-----`), which
    /// `option` cannot use. Files that cannot be read are left to the loader
    /// to report.
    /// With `symmetric`, `option` takes an `aes256` key file, and the
    /// message says so (not "give the private key").
    static func refusePublicKey(_ path: String, option: String, symmetric: Bool = false) throws {
        guard let text = try? FileIO.readText(path, limit: 1 << 16) else { return }
        let firstLine = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard firstLine == "-----BEGIN PUBLIC KEY-----" else { return }
        if symmetric {
            throw CLIError(.publicKeyGiven, "\(path): this is a public key; \(option) needs an aes256 key file (made with: modelsec keygen --type aes256); an X25519 key goes to --recipient (its .pub) or --identity (the private key)", path: path)
        }
        var hint = "give the private key"
        if path.hasSuffix(".pub") { hint += " (\(String(path.dropLast(4))), not its .pub)" }
        throw CLIError(.publicKeyGiven, "\(path): this is a public key; \(option) needs a private key: \(hint)", path: path)
    }
}
