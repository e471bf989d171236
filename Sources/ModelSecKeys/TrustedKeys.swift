import Foundation
import ModelSecCrypto
import ModelSecIO

/// A set of trusted public keys, looked up by key id (exact bytes).
public struct TrustedKeys: Sendable {
    /// The keys, in the order given.
    public let keys: [PublicKey]

    /// Trusts exactly `keys`.
    public init(_ keys: [PublicKey]) { self.keys = keys }

    /// Loads each public key file.
    public init(publicKeyFiles paths: [String]) throws {
        keys = try paths.map(KeyFile.loadPublicKey)
    }

    /// Loads every public key in `directory`: files ending in `.pub` or `.pem`
    /// that hold a `PUBLIC KEY` block. Private keys there are an error (they do
    /// not belong in a trust directory); other files are ignored.
    public init(directory: String) throws {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw FileError(path: directory, reason: "cannot list the trusted-keys directory")
        }
        var found: [PublicKey] = []
        for name in names where name.utf8.hasByteSuffix(".pub") || name.utf8.hasByteSuffix(".pem") {
            let path = (directory as NSString).appendingPathComponent(name)
            switch try KeyFile.load(path) {
            case let .publicKey(key): found.append(key)
            case .privateKey: throw KeyFileError(path: path, problem: .privateKeyAmongTrustedKeys)
            case .symmetric: continue
            }
        }
        guard !found.isEmpty else { throw FileError(path: directory, reason: "no public keys (*.pub or *.pem) in the trusted-keys directory") }
        keys = found
    }

    /// The trusted key whose id has exactly the bytes of `keyID`, if any.
    public func key(withID keyID: String) -> PublicKey? {
        keys.first { ExactString($0.keyID) == ExactString(keyID) }
    }
}

extension String.UTF8View {
    /// True when the bytes end with the bytes of `suffix` (`String.hasSuffix`
    /// compares `Character`s: `x.pub` + U+0301 does not end in `.pub` there,
    /// though the file system sees `.pub` followed by two more bytes).
    func hasByteSuffix(_ suffix: String) -> Bool {
        count >= suffix.utf8.count && reversed().starts(with: suffix.utf8.reversed())
    }
}
