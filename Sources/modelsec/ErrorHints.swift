import ModelSec

extension CLI {
    /// The line printed for a library error: its description, plus the
    /// command-line hint for its code when there is one. Library messages
    /// never name flags or commands; the hints live here, keyed by the
    /// stable error codes.
    static func message(for error: any ModelSecError) -> String {
        guard let hint = flagHint(forCode: error.code) else { return error.description }
        return "\(error.description) (\(hint))"
    }

    /// The command-line hint for an error code, if it has one.
    static func flagHint(forCode code: String) -> String? {
        switch code {
        case "file.exists": return "use --force to overwrite"
        case "key.passphrase-required": return "give a passphrase with --passphrase-file or --passphrase-env"
        case "key.public-key-needed": return "pass the public key, the .pub file"
        case "key.symmetric-key-needed": return "make one with: modelsec keygen --type aes256"
        case "encryption.recipient-not-x25519": return "make one with: modelsec keygen --type x25519"
        case "release.passphrase-recipient": return "use --recipient or --key-file"
        case "token.lifetime-above-maximum": return "raise it with --max-ttl if this is intended"
        default: return nil
        }
    }
}
