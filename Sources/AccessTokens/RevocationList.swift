import Foundation
import ModelSecIO
import ModelSecKeys

/// Token ids (`jti`) that must no longer be accepted, matched on their exact
/// UTF-8 bytes (an NFD spelling of a listed id is a different id, as it is to
/// every other JWT library).
///
/// File format (``ListFile``): UTF-8 text, one `jti` per line; surrounding
/// whitespace is trimmed, blank lines and lines starting with `#` are ignored.
public struct RevocationList: Sendable, Equatable {
    /// The revoked ids.
    public let tokenIDs: Set<ExactString>

    /// An empty list.
    public init() { tokenIDs = [] }

    /// A list of exactly `tokenIDs`.
    public init<S: Sequence>(_ tokenIDs: S) where S.Element == String {
        self.tokenIDs = Set(exactly: tokenIDs)
    }

    /// Parses the text format described on the type.
    public init(text: String) {
        tokenIDs = Set(ListFile.entries(text, comments: .wholeLine))
    }

    /// Loads a revocation file (at most 64 MiB).
    public init(contentsOf path: String) throws {
        self.init(text: try FileIO.readText(path, limit: 64 << 20))
    }

    /// True when `jti` is revoked (exact bytes).
    public func contains(_ jti: String) -> Bool { !tokenIDs.isEmpty && tokenIDs.contains(ExactString(jti)) }
}
