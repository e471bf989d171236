import Foundation

/// What one HTTP request's handling learned, for its log line and its audit
/// records: the request id (set by the server before the handler runs), the
/// client id the request named, the grant type and the refusal code. Never a
/// secret, an assertion or a token.
public final class RequestNote: @unchecked Sendable { // every field is read and written with `lock` held
    private let lock = NSLock()
    private var storedRequestID = ""
    private var storedClientID = ""
    private var storedGrantType = ""
    private var storedError = ""

    /// An empty note.
    public init(requestID: String = "") {
        storedRequestID = requestID
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The request id (`X-Request-Id`), or empty.
    public var requestID: String {
        get { locked { storedRequestID } }
        set { locked { storedRequestID = newValue } }
    }

    /// The client id the request named (as claimed for a refusal; a trust
    /// rule's name for an exchange), or empty. Only ids of the client id
    /// alphabet (`[A-Za-z0-9._-]`, 1–128 bytes) are kept.
    public var clientID: String {
        get { locked { storedClientID } }
        set { locked { storedClientID = RegisteredClient.isValidID(newValue) ? newValue : "" } }
    }

    /// `client_credentials`, `token-exchange`, or empty (not a token request,
    /// or an unsupported grant type).
    public var grantType: String {
        get { locked { storedGrantType } }
        set { locked { storedGrantType = newValue } }
    }

    /// The OAuth error code of a refusal, or empty.
    public var error: String {
        get { locked { storedError } }
        set { locked { storedError = newValue } }
    }

    /// A request id from an `X-Request-Id` header when it is sane: 1 to 128
    /// of `[A-Za-z0-9._:-]`; nil otherwise (the server then makes one).
    public static func acceptedRequestID(_ header: String?) -> String? {
        guard let header else { return nil }
        let bytes = Array(header.utf8)
        guard !bytes.isEmpty, bytes.count <= 128, bytes.allSatisfy({ byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }) else { return nil }
        return header
    }

    /// A new request id: 16 random bytes in lowercase hex.
    public static func makeRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(32)
        for _ in 0..<2 {
            var word = generator.next() as UInt64
            for _ in 0..<8 {
                out.append(hex[Int(word & 0xF0) >> 4])
                out.append(hex[Int(word & 0x0F)])
                word >>= 8
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
