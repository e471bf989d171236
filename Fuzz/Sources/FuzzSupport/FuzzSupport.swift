import Foundation
import ModelSec

/// Fixed keys and scratch files shared by the fuzz targets. The keys are the
/// public example keys of keys-example/ (also embedded in the seed corpora),
/// so seeds made with them reach the code behind authentication.
public enum FuzzSupport {
    /// keys-example/aes256.key's 32 bytes.
    public static let exampleSymmetricKey: SecretKey = {
        let text = try! String(contentsOfFile: exampleKeysDirectory + "/aes256.key", encoding: .utf8)
        return try! SymmetricKeyFile.decode(PEMBlock(parsing: text))
    }()

    /// keys-example/ed25519.pem.
    public static let exampleSigningKey: SigningPrivateKey = try! KeyFile.loadSigningKey(exampleKeysDirectory + "/ed25519.pem")

    /// keys-example/ beside this package (MODELSEC_KEYS_EXAMPLE overrides).
    public static var exampleKeysDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["MODELSEC_KEYS_EXAMPLE"] { return dir }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("keys-example").path
    }

    /// A scratch directory for this process (in /dev/shm when it exists).
    public static let scratch: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = base + "/modelsec-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `bytes` to a scratch file and returns its path.
    public static func scratchFile(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
        let path = scratch + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}

import CFuzzDriver

extension FuzzSupport {
    /// Runs libFuzzer with `target` as the fuzz function.
    public static func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                 _ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
        modelsec_run_fuzzer(argc, argv, target)
    }
}
