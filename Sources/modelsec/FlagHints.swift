/// The command-line flag that addresses a library failure, added to its
/// message by the CLI (library messages never name flags).
enum FlagHints {
    /// Hints by error code. Token rejection codes are listed in both their
    /// current form (`expired`) and the `token.`-prefixed form.
    static let byCode: [String: String] = {
        let clock = "a clock skew between issuer and verifier is tolerated up to --leeway (default 30s)"
        let key = "the header's kid must be the key id of a --public-key or a kid of the --jwks set"
        var table: [String: String] = [:]
        for (code, hint) in [("expired", clock), ("not_yet_valid", clock), ("issued_in_future", clock),
                             ("unknown_kid", key), ("missing_kid", key)] {
            table[code] = hint
            table["token." + code.replacingOccurrences(of: "_", with: "-")] = hint
        }
        for (code, hint) in [
            ("file.exists", "use --force to overwrite"),
            ("key.passphrase-required", "give the key's passphrase with --key-passphrase-file or --key-passphrase-env"),
            ("key.public-key-needed", "pass the public key, the .pub file"),
            ("key.private-key-needed", "the private key is the file without .pub; an aes256 key decrypts with --key-file"),
            ("key.symmetric-key-needed", "make one with: modelsec keygen --type aes256; an X25519 private key decrypts with --identity, its .pub goes to --recipient"),
            ("encryption.recipient-not-x25519", "make one with: modelsec keygen --type x25519"),
            ("release.passphrase-recipient", "use --recipient or --key-file"),
            ("token.lifetime-above-maximum", "raise it with --max-ttl if this is intended"),
        ] {
            table[code] = hint
        }
        return table
    }()

    /// `message` with the hint for `code` appended, if there is one.
    static func apply(to message: String, code: String) -> String {
        guard let hint = byCode[code] else { return message }
        return "\(message) (\(hint))"
    }
}
