import ModelSecCrypto

/// The log entry recording one signed release (`modelsec-release-entry/v1`).
///
/// Canonical form (UTF-8, every line ending in one LF, nothing else):
///
///     modelsec-release-entry/v1
///     name <NAME>
///     version <VERSION>
///     signer <64 lowercase hex: key id of the signing key>
///     statement-sha256 <64 lowercase hex: SHA-256 of the signed in-toto statement>
///     time <createdAt, RFC 3339 UTC, whole seconds>
///
/// Everything in it comes from the release's signed data, so a verifier
/// rebuilds the same bytes from the release alone.
public struct ReleaseLogEntry: Sendable, Equatable, Codable {
    /// The first line.
    public static let header = "modelsec-release-entry/v1"

    /// The release name.
    public let name: String
    /// The release version.
    public let version: String
    /// Key id (lowercase hex SHA-256 of the SPKI PEM) of the release signer.
    public let signerKeyID: String
    /// Lowercase hex SHA-256 of the DSSE payload (the signed statement).
    public let statementSHA256: String
    /// The release's `createdAt`.
    public let time: String

    /// An entry from its fields; refuses values that could not be read back
    /// unambiguously (newlines, spaces in fields, bad hex).
    public init(name: String, version: String, signerKeyID: String, statementSHA256: String, time: String) throws {
        func bad(_ reason: String) -> TransparencyLogError { .malformedEntry(what: "release entry", reason: reason) }
        func isToken(_ s: String, _ allowed: (UInt8) -> Bool) -> Bool { (1...256).contains(s.utf8.count) && s.utf8.allSatisfy(allowed) }
        let alnum: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        guard isToken(name, { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || $0 == 0x2F }) else { throw bad("name is not 1-256 of [A-Za-z0-9._/-]") }
        guard isToken(version, { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D || $0 == 0x2B }) else { throw bad("version is not 1-256 of [A-Za-z0-9._+-]") }
        let lowerHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard signerKeyID.utf8.count == 64, signerKeyID.utf8.allSatisfy(lowerHex) else { throw bad("signer is not 64 lowercase hex digits") }
        guard statementSHA256.utf8.count == 64, statementSHA256.utf8.allSatisfy(lowerHex) else { throw bad("statement-sha256 is not 64 lowercase hex digits") }
        guard isToken(time, { alnum($0) || $0 == 0x2D || $0 == 0x3A }) else { throw bad("time is not an RFC 3339 UTC timestamp") }
        self.name = name
        self.version = version
        self.signerKeyID = signerKeyID
        self.statementSHA256 = statementSHA256
        self.time = time
    }

    /// The entry for a release signature whose DSSE payload is `statement`.
    public init(name: String, version: String, signerKeyID: String, statement: [UInt8], time: String) throws {
        try self.init(name: name, version: version, signerKeyID: signerKeyID, statementSHA256: SHA2.SHA256.hash(data: statement).hex, time: time)
    }

    /// Parses the canonical form; anything else (other order, extra lines,
    /// CRLF) is refused.
    public init(bytes: [UInt8], what: String = "log entry") throws {
        func bad(_ reason: String) -> TransparencyLogError { .malformedEntry(what: what, reason: reason) }
        guard bytes.count <= 2048, let text = String(validating: bytes, as: UTF8.self) else { throw bad("not a release entry (too long or not UTF-8)") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let keys = ["name ", "version ", "signer ", "statement-sha256 ", "time "]
        guard lines.count == 7, lines[0] == Self.header, lines[6].isEmpty,
              zip(lines[1...5], keys).allSatisfy({ $0.hasPrefix($1) }) else { throw bad("not in the \(Self.header) form") }
        let values = zip(lines[1...5], keys).map { String($0.dropFirst($1.count)) }
        try self.init(name: values[0], version: values[1], signerKeyID: values[2], statementSHA256: values[3], time: values[4])
        guard canonicalBytes == bytes else { throw bad("not in canonical form") }
    }

    /// The bytes appended to the log.
    public var canonicalBytes: [UInt8] {
        Array("\(Self.header)\nname \(name)\nversion \(version)\nsigner \(signerKeyID)\nstatement-sha256 \(statementSHA256)\ntime \(time)\n".utf8)
    }

    /// `name@version`.
    public var release: String { "\(name)@\(version)" }
}
