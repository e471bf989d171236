import ArgumentParser
import ModelSec

/// `modelsec inspect-encrypted`: what an encrypted file's header says.
struct InspectEncrypted: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect-encrypted",
        abstract: "Show an encrypted file's format version, chunk size, recipient types and plaintext size.",
        discussion: """
        Reads the header only (no key needed) and never prints a secret. The \
        plaintext size is computed from the file size; it is authenticated only \
        when the file is decrypted.

        Examples:
          modelsec inspect-encrypted model.bin.enc
          modelsec inspect-encrypted model.bin.enc --json
        """
    )

    @Argument(help: ArgumentHelp("The encrypted file, or '-' for standard input.", valueName: "FILE"))
    var file: String

    @OptionGroup var json: JSONOption

    func run() throws {
        let info = try EncryptedFileInfo.inspect(path: file)
        if json.isOn {
            try CLI.printResult(info)
            return
        }
        print("format: modelsec encrypted file, version \(info.formatVersion)")
        print("chunk size: \(info.chunkSize) bytes")
        print("recipients: \(info.recipients.count)")
        for r in info.recipients {
            if let t = r.argon2Iterations, let m = r.argon2MemoryKiB {
                print("  - \(r.type) (Argon2id, \(t) passes, \(m) KiB)")
            } else {
                print("  - \(r.type)")
            }
        }
        print("plaintext size: \(info.plaintextSize) bytes (\(ByteCountFormatting.string(Int64(info.plaintextSize))))")
        print("chunks: \(info.chunkCount)")
        print("encrypted size: \(info.encryptedSize) bytes (header \(info.headerSize) bytes)")
    }
}
