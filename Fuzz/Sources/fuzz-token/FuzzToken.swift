import Foundation
import FuzzSupport
import ModelSec

/// JWTs (the strict compact parser, header and claim checks) and JWKS documents.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    _ = try? JSONWebKeySet.keys(from: bytes, source: "<fuzz>")
    let token = String(decoding: bytes, as: UTF8.self)
    _ = try? verifier.verify(token)
    _ = try? TokenInspection(token: token)
    return 0
}

let verifier: AccessTokenVerifier = try! AccessTokenVerifier(
    keys: [VerificationKey(FuzzSupport.exampleSigningKey.publicKey)],
    issuer: "https://registry.example.com", audience: "deploy-gate")

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_token_main")
public func fuzzTokenMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzToken(UnsafeRawPointer(data), size)
    }
}
