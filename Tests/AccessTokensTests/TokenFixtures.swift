import AccessTokens
import Foundation
import ModelSecCrypto

/// Keys and hand-made tokens for the access-token tests.
enum TokenFixtures {
    /// A fixed "now" for deterministic time checks.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let nowSeconds: Int64 = 1_800_000_000

    static let issuer = "https://registry.example"
    static let audience = "deploy-gateway"

    /// Compact JWS over exactly the given header and payload text, signed with
    /// `key` (or with `signature` bytes when given, e.g. empty for alg none).
    static func forge(header: String, payload: String, key: SigningPrivateKey?, signature: [UInt8]? = nil) throws -> String {
        if let key, signature == nil {
            return try CompactJWS.sign(header: Array(header.utf8), payload: Array(payload.utf8), with: key)
        }
        return Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "." + Base64URL.encode(signature ?? [])
    }

    /// A valid claims object as JSON text, with fields overridable (nil removes one).
    static func claimsJSON(_ overrides: [String: Any?] = [:]) -> String {
        var claims: [String: Any] = [
            "iss": issuer, "sub": "ci-pipeline", "aud": audience,
            "exp": nowSeconds + 600, "iat": nowSeconds - 60, "jti": "token-1",
            "client_id": "ci", "scope": "model:deploy:resnet@2.1.0 model:pull:resnet@*",
        ]
        for (key, value) in overrides {
            if let value { claims[key] = value } else { claims.removeValue(forKey: key) }
        }
        let data = try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// `{"alg":ALG,"kid":KID,"typ":"at+jwt"}` as text.
    static func header(alg: String, kid: String?, typ: String? = "at+jwt", extra: String = "") -> String {
        var parts = ["\"alg\":\"\(alg)\""]
        if let kid { parts.append("\"kid\":\"\(kid)\"") }
        if let typ { parts.append("\"typ\":\"\(typ)\"") }
        if !extra.isEmpty { parts.append(extra) }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
