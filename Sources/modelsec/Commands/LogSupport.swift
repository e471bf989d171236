import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// Key loading and release reading shared by the `log` commands.
enum LogSupport {
    /// The Ed25519 private key at `path` as a note signer named `name`.
    ///
    /// Log and witness keys are Ed25519 only (C2SP signed notes), and every
    /// refusal says so: a vkey or public key given here is named as such
    /// (with `option`, the flag that took it), and a P-256 or X25519 key
    /// gets "only ed25519", never advice to use another type that would be
    /// refused too. `passphraseHint`, when given, replaces the generic
    /// passphrase hint (for a command with more than one key).
    static func signer(keyPath: String, name: String, type: NoteSignatureType, permissions: KeyPermissionOptions,
                       passphrase: PassphraseSource?, option: String = "--key", passphraseHint: String? = nil) throws -> NoteSigner {
        let role = type == .ed25519 ? "the log's" : "the witness's"
        if let text = try? FileIO.readText(keyPath, limit: 64 * 1024), !text.hasPrefix("-----BEGIN"), text.contains("+"),
           (try? NoteVerifier(vkey: text.hasSuffix("\n") ? String(text.dropLast()) : text)) != nil {
            throw CLIError(.invalidValue, "\(keyPath): this is a verifier key (vkey), which is public; \(option) needs \(role) Ed25519 private key (the PEM given to keygen --out, e.g. log.pem)", path: keyPath)
        }
        try CLI.refusePublicKey(keyPath, option: option)
        try permissions.check(keyPath)
        let key: PrivateKey
        do { key = try KeyFile.loadPrivateKey(keyPath, passphrase: passphrase) } catch let error as KeyFileError {
            if let passphraseHint, case let .undecodable(decoding) = error.problem, decoding == .passphraseRequired || decoding == .wrongPassphrase {
                throw HintedError(underlying: error, hint: passphraseHint)
            }
            throw error
        }
        guard case let .ed25519(ed) = key else {
            throw KeyFileError(path: keyPath, problem: .wrongAlgorithm(expected: .ed25519, actual: key.algorithm))
        }
        return try NoteSigner(name: name, type: type, key: ed)
    }

    /// Refuses a signing key that did not sign the checkpoint in `directory`
    /// (``LogKeyMismatch``: exit 1, naming the key file, both key ids and
    /// both possible causes): the checkpoint carries a signature line under
    /// the log's name by another key id. The commonest mistake (the release
    /// signing key given for the log's) is then not reported only as a
    /// checkpoint signed by another key, which reads as a tampered log.
    /// Anything else wrong with the checkpoint is left to the append.
    static func requireKeyOfLog(_ signer: NoteSigner, directory: String, keyPath: String, option: String = "--key") throws {
        let path = (directory as NSString).appendingPathComponent(DirectoryLog.checkpointFile)
        guard let bytes = try? FileIO.readRegularFile(path, limit: SignedNote.maxBytes),
              let note = try? SignedNote(bytes: bytes, what: path) else { return }
        let lines = note.signatures.filter { Array($0.name.utf8) == Array(signer.name.utf8) }
        guard let logLine = lines.first, !lines.contains(where: { $0.keyID == signer.verifier.keyID }) else { return }
        func hex(_ id: UInt32) -> String { let digits = String(id, radix: 16); return String(repeating: "0", count: 8 - digits.count) + digits }
        throw LogKeyMismatch(keyPath: keyPath, origin: signer.name, checkpointKeyID: hex(logLine.keyID), keyID: hex(signer.verifier.keyID),
                             option: option, checkpoint: path)
    }

    /// A log's checkpoint key given as `option` (vkey text, a file holding
    /// it, or an Ed25519 PEM with the origin given as `originOption`); a
    /// given origin must be the key's name exactly (compared as bytes).
    static func logVerifier(_ spec: String, origin: String?, option: String = "--log-key",
                            originOption: String = "--origin") throws -> NoteVerifier {
        let verifier = try verifier(spec, name: origin, type: .ed25519, option: option, nameOption: originOption)
        if let origin, Array(origin.utf8) != Array(verifier.name.utf8) {
            throw TransparencyLogError.originMismatch(expected: origin, actual: verifier.name)
        }
        return verifier
    }

    /// A verifier key given as vkey text (`name+id+base64`), a file holding
    /// one, or an Ed25519 public key PEM file together with `name`.
    /// `nameOption` is the flag that gives `name` (`--origin`, or
    /// `--log-origin` in `release verify`), named when a PEM comes without it.
    static func verifier(_ spec: String, name: String?, type: NoteSignatureType, option: String,
                         nameOption: String = "--origin") throws -> NoteVerifier {
        // Text that is a vkey is taken as the key and never as a path: a
        // vkey's name holds a "/", so it is also a relative path, and a file
        // planted there (in a checkout's working directory) must not replace
        // the key the command was given.
        if let parsed = try? NoteVerifier(vkey: trimmingSpace(spec)) {
            return try checkType(parsed, spec: "the \(option) value")
        }
        if !FileIO.exists(spec) {
            // A verifier key is name+keyid+base64; anything without a "+" was meant as a file.
            guard spec.contains("+") else { throw FileError(path: spec, reason: "no such file (\(option) takes a key file or a verifier key name+keyid+base64)") }
            return try checkType(NoteVerifier(vkey: trimmingSpace(spec)), spec: "the \(option) value")
        }
        let text = try FileIO.readText(spec, limit: 64 * 1024)
        if text.hasPrefix("-----BEGIN") {
            guard let name else {
                if type == .ed25519 {
                    throw ValidationError("\(option) \(spec) is a PEM key: give the log's origin with \(nameOption) ORIGIN as well (or give the log's vkey, as log init prints it)")
                }
                throw ValidationError("\(option) \(spec) is a PEM key: give the witness's vkey instead (log cosign prints it; it names the witness)")
            }
            let publicKey = try KeyFile.loadPublicKey(spec)
            guard case let .ed25519(key) = publicKey else {
                throw KeyFileError(path: spec, problem: .wrongAlgorithm(expected: .ed25519, actual: publicKey.algorithm))
            }
            return try NoteVerifier(name: name, type: type, publicKey: key)
        }
        let vkey = trimmingSpace(text)
        let verifier: NoteVerifier
        do { verifier = try NoteVerifier(vkey: vkey) } catch let TransparencyLogError.malformedKey(reason) {
            throw TransparencyLogError.malformedKey(reason: "\(spec): \(reason)")
        }
        return try checkType(verifier, spec: spec)

        /// The same refusal for vkey text and a vkey file: a log key (type
        /// 0x01) is never a witness key, nor a witness key (0x04) a log key.
        func checkType(_ verifier: NoteVerifier, spec: String) throws -> NoteVerifier {
            guard verifier.type == type else {
                throw TransparencyLogError.malformedKey(reason: "\(spec) is a \(verifier.type == .ed25519 ? "log" : "witness") key, not a \(type == .ed25519 ? "log" : "witness") key")
            }
            return verifier
        }
    }

    /// The log entry of the release in `directory` (see ``ReleaseTransparency/entry(releaseDirectory:trustedKeys:)``).
    static func entry(releaseDirectory directory: String, trustedKeys: TrustedKeys?) throws -> ReleaseLogEntry {
        try ReleaseTransparency.entry(releaseDirectory: directory, trustedKeys: trustedKeys)
    }

    /// `text` without the ASCII white space around it. A vkey holds none:
    /// what surrounds it (a CRLF line end, a blank line, indentation from a
    /// template) is not part of it.
    static func trimmingSpace(_ text: String) -> String {
        let asciiSpace: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0A]
        let bytes = Array(text.utf8)
        let start = bytes.firstIndex { !asciiSpace.contains($0) } ?? bytes.endIndex
        let end = bytes.lastIndex { !asciiSpace.contains($0) }.map { $0 + 1 } ?? start
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    /// Whether `spec` is vkey text (then it is the key, never a path).
    static func isVkeyText(_ spec: String) -> Bool {
        (try? NoteVerifier(vkey: trimmingSpace(spec))) != nil
    }

    /// The log signing key's path from `MODELSEC_LOG_SIGNING_KEY` (nil when
    /// unset or empty): a pipeline names the key once for `log append` and
    /// `release create --log`. The variable holds a path, never the key.
    static var signingKeyFromEnvironment: String? {
        ProcessInfo.processInfo.environment["MODELSEC_LOG_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The current time in whole seconds since the epoch.
    static var now: UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }
}

/// The signing key given is not the key that signed the log's checkpoint.
/// Either the key is the wrong one (the likeliest: the release signing key
/// given for the log's) or the checkpoint was replaced: the checkpoint is
/// not verified here, so both are named, and the failure is a failed check
/// (exit 1, `tlog.signature-missing`, as the append itself would report).
struct LogKeyMismatch: ModelSecError {
    let keyPath: String
    let origin: String
    let checkpointKeyID: String
    let keyID: String
    let option: String
    let checkpoint: String
    var path: String? { keyPath }
    var category: FailureCategory { .verificationFailed }
    var code: String { TransparencyLogError.signatureMissing(what: checkpoint, keyName: origin).code }
    var description: String {
        "\(keyPath) is not the key that signed \(checkpoint): its signature under \(origin) has key id \(checkpointKeyID), and this key's would be \(keyID). Either \(keyPath) is not the log's key (\(option) needs the Ed25519 private key given to log init --key, not the release signing key), or the checkpoint was replaced (log verify with the log's vkey tells which)"
    }
}
