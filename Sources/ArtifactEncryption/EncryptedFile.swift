import Foundation
import ModelSecIO

/// Whole-file encryption and decryption as the CLI does it: paths or "-" for
/// standard input/output, atomic output files, progress on a terminal.
public enum EncryptedFile {
    /// What an encryption or decryption did.
    public struct Summary: Codable, Sendable, Equatable {
        /// The input path ("-" for standard input).
        public let input: String
        /// The output path ("-" for standard output).
        public let output: String
        /// Plaintext bytes.
        public let plaintextSize: UInt64
        /// Plaintext bytes per chunk.
        public let chunkSize: Int
        /// Recipient types.
        public let recipients: [String]
    }

    /// Encrypts `input` to `output` for `recipients`. A file output is written
    /// to a temporary file and renamed into place only when complete.
    public static func encrypt(input: String, output: String, recipients: [any Recipient],
                               chunkSize: Int = ArtifactEncryption.defaultChunkSize,
                               overwrite: Bool = false, progress handler: ProgressHandler? = nil) throws -> Summary {
        let source = try openInput(input)
        let sink = try OutputSink(output, mode: 0o644, overwrite: overwrite)
        let encryptor = try Encryptor(recipients: recipients, chunkSize: chunkSize) { try sink.write($0) }
        let progress = ProgressReporter(label: "encrypting", totalBytes: source.regularFileSize.map(Int64.init), handler: handler)
        encryptor.onBatch = { progress.advance(bytes: Int64($0)) }
        try encryptor.write(from: source)
        try encryptor.finish()
        try sink.commit()
        progress.finish()
        return Summary(input: input, output: output, plaintextSize: encryptor.plaintextByteCount, chunkSize: chunkSize,
                       recipients: recipients.map(\.stanzaKind.name))
    }

    /// Decrypts `input` to `output` with one of `identities`. A file output is
    /// renamed into place only after the final chunk has authenticated; on any
    /// failure no plaintext file is left. Standard output receives only
    /// authenticated chunks, and the call throws if the stream fails or ends early.
    public static func decrypt(input: String, output: String, identities: [any Identity],
                               overwrite: Bool = false, progress handler: ProgressHandler? = nil) throws -> Summary {
        let source = try openInput(input)
        do {
            let decryptor = try Decryptor(source: source, identities: identities)
            let sink = try OutputSink(output, mode: 0o600, overwrite: overwrite)
            let total = source.regularFileSize.map { Int64($0) }
            let progress = ProgressReporter(label: "decrypting", totalBytes: total, handler: handler)
            decryptor.onBatch = { progress.advance(bytes: Int64($0)) }
            do {
                try decryptor.decrypt { try sink.write($0) }
            } catch {
                sink.abort()
                throw error
            }
            try sink.commit()
            progress.finish()
            return Summary(input: input, output: output, plaintextSize: decryptor.plaintextByteCount,
                           chunkSize: decryptor.chunkSize, recipients: decryptor.recipientTypes)
        } catch let error as EncryptionError {
            throw error.at(input)
        }
    }

    static func openInput(_ path: String) throws -> FileDescriptorSource {
        path == "-" ? FileDescriptorSource(fd: 0, name: "<stdin>") : try FileDescriptorSource(path: path)
    }
}

/// Where output goes: a regular file written atomically (temporary file,
/// renamed into place on commit), standard output (`-`), or an existing
/// device or pipe such as /dev/null, written through (``AtomicFileWriter``
/// decides on what it opened, so a switched link cannot redirect it).
final class OutputSink {
    private let writer: AtomicFileWriter?
    private let fd: Int32
    private let name: String

    init(_ path: String, mode: mode_t, overwrite: Bool) throws {
        name = path == "-" ? "<stdout>" : path
        if path == "-" {
            writer = nil
            fd = 1
        } else {
            writer = try AtomicFileWriter(destination: path, mode: mode, overwrite: overwrite, streamable: true)
            fd = -1
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let writer { try writer.write(bytes) } else { try FileIO.writeAll(fd, bytes, name: name) }
    }

    func commit() throws { try writer?.commit() }
    func abort() { writer?.abort() }
}
