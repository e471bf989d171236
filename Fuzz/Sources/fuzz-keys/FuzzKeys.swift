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
