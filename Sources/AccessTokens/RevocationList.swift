import Foundation
import ModelSecIO

/// Token ids (`jti`) that must no longer be accepted.
///
/// File format: UTF-8 text, one `jti` per line; surrounding spaces are
/// trimmed, blank lines and lines starting with `#` are ignored.
public struct RevocationList: Sendable, Equatable {
    /// The revoked ids.
    public let tokenIDs: Set<String>

    /// A list of exactly `tokenIDs`.
    public init(_ tokenIDs: Set<String> = []) { self.tokenIDs = tokenIDs }

    /// Parses the text format described on the type.
    public init(text: String) {
        var ids = Set<String>()
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            ids.insert(trimmed)
        }
        tokenIDs = ids
    }

    /// Loads a revocation file (at most 64 MiB).
    public init(contentsOf path: String) throws {
        self.init(text: try FileIO.readText(path, limit: 64 << 20))
    }

    /// True when `jti` is revoked.
    public func contains(_ jti: String) -> Bool { tokenIDs.contains(jti) }
}
