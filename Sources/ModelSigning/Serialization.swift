import Foundation
import ModelSecCrypto
import ModelSecIO

/// How a model is cut into resources before hashing.
public enum SerializationMethod: Sendable, Equatable {
    /// One resource per regular file, its digest a SHA-256 over the whole file
    /// (the default, and what `model_signing` writes). Files are hashed in
    /// parallel with each other.
    case files
    /// One resource per `size`-byte shard of each file (`path:start:end`, end
    /// exclusive; empty files have none). Shards are hashed in parallel, so a
    /// single large file uses every core.
    case shards(size: Int64)

    /// The default shard size of the reference implementation (10^9 bytes).
    public static let defaultShardSize: Int64 = 1_000_000_000

    /// The `method` value written in the statement.
    public var name: String {
        switch self {
        case .files: return "files"
        case .shards: return "shards"
        }
    }
}

/// Paths every OMS signature ignores at the top of a model directory (see `SigningOptions.ignoreGitPaths`).
let defaultIgnoredGitPaths = [".git", ".gitattributes", ".github", ".gitignore"]

/// One signed resource as listed in a statement.
public struct SignedResource: Sendable, Equatable, Codable {
    /// `path` (files) or `path:start:end` (shards); `.` is a single-file model.
    public let name: String
    /// `sha256`, or `sha256-sharded-N` for shards.
    public let algorithm: String
    /// Lowercase hex digest.
    public let digest: String
}

/// The content of a signature's statement: what was signed. Reading it does
/// not check the signature; `ModelVerifier` does.
public struct SignedManifest: Sendable, Equatable {
    /// The subject name: the model directory's (or file's) base name.
    public let modelName: String
    /// SHA-256 over the concatenated raw resource digests, hex.
    public let subjectDigest: String
    /// The serialization method.
    public let method: SerializationMethod
    /// Whether symbolic links were followed.
    public let allowSymlinks: Bool
    /// The ignored paths recorded in the signature.
    public let ignorePaths: [String]
    /// Every resource, in the order listed.
    public let resources: [SignedResource]

    /// The number of distinct files the resources cover.
    public var fileCount: Int {
        Set(resources.compactMap { ResourceName.parse($0.name, method: method)?.path }).count
    }
}

/// Splitting and joining resource names.
enum ResourceName {
    /// The file path and byte range of a resource name; nil for a malformed
    /// shard name. Shard names split at the last two colons, so file names
    /// that contain colons still work.
    static func parse(_ name: String, method: SerializationMethod) -> (path: ModelPath, range: Range<Int64>?)? {
        switch method {
        case .files:
            return (ModelPath(name), nil)
        case .shards:
            let bytes = Array(name.utf8)
            guard let second = bytes.lastIndex(of: UInt8(ascii: ":")),
                  let first = bytes[..<second].lastIndex(of: UInt8(ascii: ":")),
                  let start = Int64(String(decoding: bytes[(first + 1)..<second], as: UTF8.self)),
                  let end = Int64(String(decoding: bytes[(second + 1)...], as: UTF8.self)),
                  start >= 0, end > start else { return nil }
            return (ModelPath(bytes: Array(bytes[..<first])), start..<end)
        }
    }

    /// `path:start:end`.
    static func shard(_ path: ModelPath, _ range: Range<Int64>) -> String {
        "\(path.string):\(range.lowerBound):\(range.upperBound)"
    }

    /// The shard ranges of a file of `size` bytes (none when it is empty).
    static func shardRanges(size: Int64, shardSize: Int64) -> [Range<Int64>] {
        var ranges: [Range<Int64>] = []
        var start: Int64 = 0
        while start < size {
            let end = min(start + shardSize, size)
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }
}

/// Turns walked files into hash tasks and named resources.
enum ModelSerializer {
    /// One resource to be: its name and the task that computes its digest.
    struct PlannedResource {
        let name: String
        let path: ModelPath
        let range: Range<Int64>?
        let task: HashTask
    }

    static func plan(_ files: [ModelTree.File], method: SerializationMethod) -> [PlannedResource] {
        var planned: [PlannedResource] = []
        for (index, file) in files.enumerated() {
            switch method {
            case .files:
                planned.append(PlannedResource(name: file.path.string, path: file.path, range: nil,
                                               task: HashTask(fileIndex: index, offset: 0, length: nil)))
            case let .shards(size):
                for range in ResourceName.shardRanges(size: file.size, shardSize: size) {
                    planned.append(PlannedResource(name: ResourceName.shard(file.path, range), path: file.path, range: range,
                                                   task: HashTask(fileIndex: index, offset: range.lowerBound, length: range.upperBound - range.lowerBound)))
                }
            }
        }
        return planned
    }

    /// The resource algorithm string for `method`.
    static func algorithm(for method: SerializationMethod) -> String {
        switch method {
        case .files: return "sha256"
        case let .shards(size): return "sha256-sharded-\(size)"
        }
    }

    /// A progress reporter for hashing `files` (files and bytes; bytes only
    /// with shards, where tasks are not files), or nil when nobody listens
    /// (no `handler` and none bound in ``ProgressReporting/handler``).
    static func progress(for files: [ModelTree.File], method: SerializationMethod, handler: ProgressHandler?) -> ProgressReporter? {
        guard let handler = handler ?? ProgressReporting.current else { return nil }
        let total = files.reduce(Int64(0)) { $0 + $1.size }
        return ProgressReporter(label: "hashing", totalBytes: total, totalItems: method == .files ? files.count : nil, handler: handler)
    }

    /// SHA-256 over the concatenated raw digests.
    static func rootDigest(_ digests: [[UInt8]]) -> SHA2.Digest {
        var hasher = SHA2.SHA256.hasher()
        for digest in digests { hasher.update(digest) }
        return hasher.finalize()
    }
}
