import Foundation
import FuzzSupport
import ModelSec

/// The signature bundle and its in-toto payload. Half the inputs are parsed as
/// a bundle file; the other half are taken as a payload, signed with the
/// example key, so the statement parser behind signature verification is
/// reached with arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignature(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    let trusted = TrustedKeys([FuzzSupport.exampleSigningKey.publicKey])
    let model = URL(fileURLWithPath: modelDirectory)
    if let bundle = try? SignatureBundle(jsonData: Data(bytes)) {
        _ = try? ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: trusted)
    }
    let pae = DSSEEnvelope.preAuthenticationEncoding(payloadType: DSSEEnvelope.inTotoPayloadType, payload: bytes)
    guard let signature = try? FuzzSupport.exampleSigningKey.signature(for: pae) else { return 0 }
    let envelope = DSSEEnvelope(payload: Data(bytes).base64EncodedString(), payloadType: DSSEEnvelope.inTotoPayloadType,
                                signatures: [.init(sig: Data(signature).base64EncodedString())])
    let bundle = SignatureBundle(verificationMaterial: .init(keyHint: FuzzSupport.exampleSigningKey.publicKey.keyID), dsseEnvelope: envelope)
    _ = try? ModelVerifier.verify(model: model, bundle: bundle, trustedKeys: trusted)
    _ = try? ModelVerifier.verifyFile(relativePath: "a.txt", model: model, bundle: bundle, trustedKeys: trusted)
    return 0
}

/// A two-file model the verifier compares against.
let modelDirectory: String = {
    let dir = FuzzSupport.scratch + "/model"
    try? FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: dir + "/a.txt", contents: Data("alpha\n".utf8))
    FileManager.default.createFile(atPath: dir + "/sub/b.bin", contents: Data([0, 1, 2]))
    return dir
}()

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_signature_main")
public func fuzzSignatureMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzSignature(UnsafeRawPointer(data), size)
    }
}
