import ArgumentParser
import Foundation
import ModelSec
import TransparencyLog

/// Key loading and release reading shared by the `log` commands.
enum LogSupport {
    /// The Ed25519 private key at `path` as a note signer named `name`.
    static func signer(keyPath: String, name: String, type: NoteSignatureType, permissions: KeyPermissionOptions,
                       passphrase: PassphraseSource?) throws -> NoteSigner {
        let key = try CLI.loadSigningKey(keyPath, passphrase: passphrase, permissions: permissions)
        guard case let .ed25519(ed) = key else {
            throw KeyFileError(path: keyPath, problem: .wrongAlgorithm(expected: .ed25519, actual: key.algorithm))
        }
        return try NoteSigner(name: name, type: type, key: ed)
    }

    /// A verifier key given as vkey text (`name+id+base64`), a file holding
    /// one, or an Ed25519 public key PEM file together with `name`.
    static func verifier(_ spec: String, name: String?, type: NoteSignatureType, option: String) throws -> NoteVerifier {
        if !FileIO.exists(spec) {
            // A verifier key is name+keyid+base64; anything without a "+" was meant as a file.
            guard spec.contains("+") else { throw FileError(path: spec, reason: "no such file (\(option) takes a key file or a verifier key name+keyid+base64)") }
            return try NoteVerifier(vkey: spec)
        }
        let text = try FileIO.readText(spec, limit: 64 * 1024)
        if text.hasPrefix("-----BEGIN") {
            guard let name else {
                throw ValidationError("\(option) \(spec) is a PEM key: give the key name (the log origin or witness name) as well")
            }
            let publicKey = try KeyFile.loadPublicKey(spec)
            guard case let .ed25519(key) = publicKey else {
                throw KeyFileError(path: spec, problem: .wrongAlgorithm(expected: .ed25519, actual: publicKey.algorithm))
            }
            return try NoteVerifier(name: name, type: type, publicKey: key)
        }
        let vkey = text.hasSuffix("\n") ? String(text.dropLast()) : text
        let verifier = try NoteVerifier(vkey: vkey)
        guard verifier.type == type else {
            throw TransparencyLogError.malformedKey(reason: "\(spec) is a \(verifier.type == .ed25519 ? "log" : "witness") key, not a \(type == .ed25519 ? "log" : "witness") key")
        }
        return verifier
    }

    /// The log entry of the release in `directory` (see ``ReleaseTransparency/entry(releaseDirectory:trustedKeys:)``).
    static func entry(releaseDirectory directory: String, trustedKeys: TrustedKeys?) throws -> ReleaseLogEntry {
        try ReleaseTransparency.entry(releaseDirectory: directory, trustedKeys: trustedKeys)
    }

    /// The current time in whole seconds since the epoch.
    static var now: UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }
}

