import ArgumentParser
import Foundation
import ModelSec
import TokenService

/// `modelsec token …`: access tokens (JWT, RFC 9068 profile) granting scoped
/// access to model versions.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, verify and inspect access tokens for model versions; publish verification keys (JWKS).",
        discussion: """
        Tokens are JWTs (RFC 9068 access tokens, typ at+jwt) signed with an ed25519 \
        (EdDSA) or p256 (ES256) key. Scopes name model versions: \
        model:<action>:<name>@<version>, with * allowed as a whole name or version. \
        The profile is documented in docs/access-tokens.md.

        Examples:
          modelsec token issue --key issuer.pem --issuer https://reg.example \\
            --audience deploy-gateway --subject ci-pipeline \\
            --scope model:deploy:resnet@2.1.0 --ttl 15m > tok
          modelsec token verify --token-file tok --public-key issuer.pem.pub \\
            --issuer https://reg.example --audience deploy-gateway \\
            --require-scope model:deploy:resnet@2.1.0
          modelsec token jwks --public-key issuer.pem.pub > jwks.json
          modelsec token inspect --token-file tok
        """,
        subcommands: [TokenIssue.self, TokenVerify.self, TokenJWKS.self, TokenInspect.self, TokenFetch.self]
    )
}

/// Shared by the token subcommands.
enum TokenCLI {
    /// The token from the one source given: `--token-file`, `--token-env`,
    /// or the argument (`-` or none: standard input). An argument that names
    /// an existing file is refused with the `--token-file` hint.
    static func token(argument: String?, file: String?, env: String? = nil) throws -> String {
        if let file {
            return try FileIO.readText(file, limit: 1 << 20).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let env {
            guard let value = ProcessInfo.processInfo.environment[env] else {
                throw CLIError(.invalidArguments, "--token-env: the environment variable \(env) is not set")
            }
            return value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let argument = argument ?? "-"
        if let name = fileNameInsteadOfToken(argument) {
            throw CLIError(.tokenLooksLikeFile,
                           "TOKEN '\(name)' looks like a file name, not a token; give --token-file \(name) (or - to read standard input)",
                           path: name)
        }
        return try readToken(argument)
    }

    /// The keys of the JWK Set at `url` (an `https` URL, or `http` to a
    /// literal loopback address), fetched once with the key-set limits over
    /// `transport` (``transport(caFile:)``).
    static func remoteKeys(_ url: String, option: String, transport: OutgoingHTTP = OutgoingHTTP()) throws -> [VerificationKey] {
        guard let parsed = URL(string: url), RemoteKeySet.isAcceptable(parsed) else {
            throw CLIError(.invalidValue, "\(option): \(url) is not an https URL (or http to a loopback address)")
        }
        let document: [UInt8]
        do { document = try RemoteKeySet.download(parsed, transport: transport) } catch {
            throw TokenFetchError.unreachable(url: url, reason: "\(error)")
        }
        return try JSONWebKeySet.keys(from: document, source: url)
    }

    /// The token issuer's keys from the one source given: a JWK Set file
    /// (`jwks`), a JWK Set URL (`jwksURL`, fetched over `transport`, named
    /// `--token-jwks-url` in errors), or SPKI PEM files (`publicKeys`).
    /// Shared by `token verify` and `release verify`.
    static func verificationKeys(jwks: String?, jwksURL: String?, publicKeys: [String],
                                 transport: OutgoingHTTP) throws -> [VerificationKey] {
        if let jwks { return try JSONWebKeySet.keys(from: try FileIO.readFile(jwks, limit: 1 << 20), source: jwks) }
        if let jwksURL { return try remoteKeys(jwksURL, option: "--token-jwks-url", transport: transport) }
        return try publicKeys.map(VerificationKey.load(publicKeyFile:))
    }

    /// The outgoing HTTP client of `token fetch`, `token verify` and
    /// `release verify`: https servers are verified against the system's CA
    /// certificates, or, with `caFile` (`--ca-file`, `--token-ca-file`), against
    /// the PEM certificates in that file only (they replace the system's).
    /// A file with no PEM certificate is exit 2.
    static func transport(caFile: String?) throws -> OutgoingHTTP {
        guard let caFile else { return OutgoingHTTP() }
        let pem = try FileIO.readRegularFile(caFile, limit: 1024 * 1024)
        do { return try OutgoingHTTP(caPEM: pem) } catch {
            throw FileError(path: caFile, reason: "holds no PEM certificate for --ca-file")
        }
    }

    /// A client secret file: UTF-8, line ends trimmed, not empty (at most 4 KiB).
    /// Like a key file, a secret file the group or others can read is warned
    /// about, or refused under `--strict-permissions` (`key.permissions-too-open`).
    static func clientSecret(file path: String, permissions: KeyPermissionOptions) throws -> String {
        if try permissions.isStrict {
            try KeyFile.requirePrivatePermissions(path)
        } else if KeyFile.permissionWarning(path) != nil {
            var st = stat()
            let mode = stat(path, &st) == 0 ? String(st.st_mode & 0o7777, radix: 8) : "?"
            CLI.warn("\(path): the secret is accessible by others (mode \(mode)); run: chmod 600 \(path)")
        }
        let bytes = try FileIO.readRegularFile(path, limit: 4096)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileError(path: path, reason: "the secret is not UTF-8 text")
        }
        let secret = text.trimmingCharacters(in: .newlines)
        guard !secret.isEmpty else { throw FileError(path: path, reason: "the file is empty") }
        return secret
    }

    /// The token named by a TOKEN argument: the text itself, or standard input
    /// for `-`. Surrounding whitespace (a trailing newline) is removed. Standard
    /// input is drained up to 1 MiB (so a producer is not cut off mid-write)
    /// and the verifier then rejects anything over its size limit.
    static func readToken(_ argument: String) throws -> String {
        guard argument == "-" else { return argument.trimmingCharacters(in: .whitespacesAndNewlines) }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let cap = 1 << 20
        while bytes.count <= cap {
            let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: "<stdin>", reason: FileIO.errnoDescription(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileError(path: "<stdin>", reason: "the token is not UTF-8 text")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The argument itself when a TOKEN argument is evidently a file name
    /// and not a token: it is not three base64url segments joined by dots,
    /// and a file exists at that path (or it contains a `/`). Such an
    /// argument would otherwise be reported only as a "malformed token".
    static func fileNameInsteadOfToken(_ argument: String) -> String? {
        guard argument != "-" else { return nil }
        let trimmed = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        let segments = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        let base64url = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let looksLikeJWT = segments.count == 3 && segments.allSatisfy { $0.allSatisfy(base64url.contains) }
        guard !looksLikeJWT else { return nil }
        return OutputGuard.exists(trimmed) || trimmed.contains("/") ? trimmed : nil
    }


    /// Parses a duration option, e.g. `15m`, naming the option on failure.
    static func duration(_ text: String, option: String) throws -> TokenDuration {
        guard let value = TokenDuration(parsing: text) else {
            throw ValidationError("\(option): '\(text)' is not a duration (use e.g. 30s, 15m, 24h, 1h30m)")
        }
        return value
    }

    /// Parses scope options, naming the option on failure.
    static func scopes(_ texts: [String], option: String) throws -> [ModelScope] {
        try texts.map { text in
            do { return try ModelScope(parsing: text) } catch let e as ModelScope.ParseError {
                throw ValidationError("\(option): \(e.description)")
            }
        }
    }
}
