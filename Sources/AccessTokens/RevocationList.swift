import Foundation
import ModelSecIO
import ModelSecKeys

/// Token ids (`jti`) that must no longer be accepted, matched on their exact
/// UTF-8 bytes (an NFD spelling of a listed id is a different id, as it is to
/// every other JWT library).
///
/// File format: UTF-8 text, one `jti` per line (lines end at the bytes LF or
/// CR); surrounding spaces and tabs are trimmed, blank lines and lines
/// starting with `#` are ignored.
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
        var ids = Set<ExactString>()
        let blank: Set<UInt8> = [0x20, 0x09]
        for line in Array(text.utf8).split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) {
            guard let first = line.firstIndex(where: { !blank.contains($0) }),
                  let last = line.lastIndex(where: { !blank.contains($0) }) else { continue }
            let trimmed = line[first...last]
            if trimmed.first == UInt8(ascii: "#") { continue }
            ids.insert(ExactString(String(decoding: trimmed, as: UTF8.self)))
        }
        tokenIDs = ids
    }

    /// Loads a revocation file (at most 64 MiB).
    public init(contentsOf path: String) throws {
        self.init(text: try FileIO.readText(path, limit: 64 << 20))
    }

    /// True when `jti` is revoked (exact bytes).
    public func contains(_ jti: String) -> Bool { tokenIDs.contains(ExactString(jti)) }
}
