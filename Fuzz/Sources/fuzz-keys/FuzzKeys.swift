import FuzzSupport
import ModelSec

/// Key files: PEM framing, PKCS#8 (plain and encrypted), SPKI, the aes256 key
/// file. Any input must either decode or throw; never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeys(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
    guard let text = String(validating: bytes, as: UTF8.self) else {
        _ = try? PublicKey(spkiDER: bytes)
        return 0
    }
    if let block = try? PEMBlock(parsing: text) {
        _ = try? SymmetricKeyFile.decode(block)
        _ = try? PublicKey(spkiDER: block.der)
    }
    _ = try? PublicKey(pem: text)
    _ = try? PrivateKey(pem: text)
    _ = try? PrivateKey(pem: text, passphrase: SecretBytes(copying: Array("example".utf8)))
    return 0
}

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_keys_main")
public func fuzzKeysMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzKeys(UnsafeRawPointer(data), size)
    }
}
