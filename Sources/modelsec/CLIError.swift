import ModelSec

/// An error the command-line layer itself raises: a usage problem
/// (ArgumentParser's or a command's own check), an output that exists, or a
/// check that a command ran to the end and found failed (a verify report, the
/// deploy gate's refusal, scanner findings).
///
/// It keeps the library's contract (docs/errors.md): a stable `code`, a
/// `category` that `CLI.exitCode` turns into the exit code, the `path` the
/// failure is about, and one line for a person. Unlike library errors its
/// message may name command-line flags.
struct CLIError: ModelSecError {
    /// Every code the command-line layer emits (each listed in docs/errors.md).
    enum Code: String, CaseIterable {
        /// An option the command does not have (with a suggestion when one is close).
        case unknownOption = "usage.unknown-option"
        /// A subcommand that does not exist (with a suggestion when one is close).
        case unknownCommand = "usage.unknown-command"
        /// A required option or argument, or an option's value, is missing.
        case missingArgument = "usage.missing-argument"
        /// A value that cannot be parsed (not a number, not one of the choices).
        case invalidValue = "usage.invalid-value"
        /// Arguments that do not go together, or are out of range.
        case invalidArguments = "usage.invalid-arguments"
        /// A positional argument the command does not take.
        case unexpectedArgument = "usage.unexpected-argument"
        /// `token verify` or `token inspect` was given what looks like a file name instead of a token.
        case tokenLooksLikeFile = "usage.token-looks-like-file"
        /// A private key option was given a public key.
        case publicKeyGiven = "usage.public-key-given"
        /// `token inspect` was given text that is not a token at all.
        case tokenUndecodable = "token.undecodable"
        /// An output exists and `--force` was not given.
        case outputExists = "output.exists"
        /// `verify --file` names a file that is neither in the model nor signed.
        case fileNotInModel = "signing.file-not-in-model"
        /// The model's files differ from what was signed.
        case contentMismatch = "signing.content-mismatch"
        /// The signature was made by a key that is not trusted.
        case untrustedSigner = "signing.untrusted-signer"
        /// No trusted key's signature verifies.
        case invalidSignature = "signing.invalid-signature"
        /// A step of the deploy gate failed (the report names it).
        case deployStepFailed = "release.gate-refused"
        /// The scanner reported dangerous, suspicious or unparseable content.
        case scanFindings = "scan.findings"
        /// The scanner could not read a path.
        case scanUnreadable = "scan.unreadable"
        /// `log monitor`: one name@version logged with two different statements.
        case logReleaseConflict = "log.release-conflict"

        /// Failed checks exit 1; everything else here is unusable input (2).
        var category: FailureCategory {
            switch self {
            case .contentMismatch, .untrustedSigner, .invalidSignature, .deployStepFailed, .scanFindings, .logReleaseConflict:
                return .verificationFailed
            default:
                return .invalidInput
            }
        }
    }

    /// Which failure this is.
    let kind: Code
    /// One line for a person (may name flags).
    let message: String
    /// The file or directory involved, if any.
    let path: String?
    /// ArgumentParser's usage lines, shown on stderr under a usage error.
    var usage: String?

    init(_ kind: Code, _ message: String, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
    }

    var category: FailureCategory { kind.category }
    var code: String { kind.rawValue }
    var description: String { message }
}

extension CLI {
    /// A library error about a file that does not name it: the same code
    /// and category, with the path added.
    struct InFile: ModelSecError {
        let underlying: any ModelSecError
        let file: String
        var category: FailureCategory { underlying.category }
        var code: String { underlying.code }
        var path: String? { file }
        var description: String { "\(file): \(underlying.description)" }
    }
}

/// A command finished its work and the result is a failure (a check failed,
/// or an input could not be read part-way through): `error` says which, and
/// `report` is the result the command produced anyway. With `--json` the
/// report's fields are printed beside `ok` and `error`; otherwise the
/// command has already printed its text report and only `error` is shown.
struct ReportedFailure: Error {
    /// The failure.
    let error: any ModelSecError
    /// What the command found, printed with `--json`.
    let report: (any Encodable & Sendable)?
}
