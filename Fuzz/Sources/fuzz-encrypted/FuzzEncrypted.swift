import FuzzSupport
import ModelSec

/// The encrypted-file header and chunk reader: header inspection without a
/// key, then a full streamed decrypt and a random-access read with the example
/// aes256 key (seeds are files encrypted to it, so mutations reach the chunks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEncrypted(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let path = FuzzSupport.scratchFile("input.enc", buffer)
    _ = try? EncryptedFileInfo.inspect(path: path)
    if let decryptor = try? Decryptor(source: MemorySource(Array(buffer)), identities: [.symmetricKey(FuzzSupport.exampleSymmetricKey)]) {
        try? decryptor.decrypt { _ in }
    }
    return 0
}

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_encrypted_main")
public func fuzzEncryptedMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzEncrypted(UnsafeRawPointer(data), size)
    }
}
