/// GGUF files (llama.cpp's format), read as ggml's `gguf.cpp` reads them:
///
/// `GGUF` magic, u32 version (1, 2 or 3; version 1 uses u32 counts and string
/// lengths, later versions u64), tensor count, metadata count, then the
/// metadata key/value pairs (key: string; value type: u32; value), then the
/// tensor infos (name, u32 n_dims <= 4, n_dims u64 dims, u32 type, u64 offset).
/// Value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool,
/// 8 string (u64 length + bytes), 9 array (u32 element type, u64 count,
/// elements), 10 u64, 11 i64, 12 f64. Every length and count is checked
/// against the bytes left in the file before anything is read; strings are
/// skipped without being read unless they are chat templates. Tensor data is
/// never read.
///
/// Findings: duplicate keys (ggml refuses them, other readers keep one of the
/// values) and any structural violation are `malformed-model` errors; every
/// `tokenizer.chat_template*` value is analysed by `JinjaTemplateCheck`.
struct GgufChecker {
    /// Longest key or tensor name.
    static let maxNameBytes = 1 << 16
    /// Longest chat template analysed.
    static let maxTemplateBytes = 1 << 20
    /// Most metadata pairs and tensors.
    static let maxCount: UInt64 = 1 << 24
    /// Deepest array nesting.
    static let maxArrayDepth = 4

    struct Malformed: Error {
        let offset: Int
        let reason: String
    }

    let source: ByteSource
    private var position = 0
    private var version: UInt32 = 0
    var findings: [FormatFinding] = []
    /// Keys read.
    private(set) var keyCount = 0
    /// Templates analysed.
    private(set) var templateCount = 0

    init(_ source: ByteSource) { self.source = source }

    /// Whether `prefix` starts with the GGUF magic.
    static func isGguf(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 4 && Array(prefix[0..<4]) == Array("GGUF".utf8)
    }

    mutating func check() {
        do {
            try parse()
        } catch let error as Malformed {
            findings.append(FormatFinding(.error, .malformedModel, "cannot parse the GGUF file at offset \(error.offset): \(error.reason)"))
        } catch {
            findings.append(FormatFinding(.error, .malformedModel, "cannot read the GGUF file: \(error)"))
        }
    }

    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard source.count - position >= count else { throw Malformed(offset: position, reason: "truncated (\(count)-byte value past the end)") }
        var value: UInt64 = 0
        for i in (0..<count).reversed() { value = value << 8 | UInt64(try source.byte(position + i)) }
        position += count
        return value
    }

    private mutating func count() throws -> UInt64 {
        version == 1 ? try fixed(4) : try fixed(8)
    }

    private mutating func skip(_ length: UInt64) throws {
        guard length <= UInt64(source.count - position) else { throw Malformed(offset: position, reason: "length \(length) runs past the end of the file") }
        position += Int(length)
    }

    /// A string's bytes (at most `limit`), or nil (skipped) when `keep` is false.
    private mutating func string(keep: Bool, limit: Int) throws -> [UInt8]? {
        let length = try count()
        guard length <= UInt64(source.count - position) else { throw Malformed(offset: position, reason: "string of \(length) bytes runs past the end of the file") }
        guard keep else {
            position += Int(length)
            return nil
        }
        guard length <= UInt64(limit) else { throw Malformed(offset: position, reason: "string of \(length) bytes is longer than \(limit)") }
        let bytes = try source.bytes(position, Int(length))
        position += Int(length)
        return bytes
    }

    private static let scalarSizes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]

    private mutating func parse() throws {
        guard source.count >= 4, try source.bytes(0, 4) == Array("GGUF".utf8) else { throw Malformed(offset: 0, reason: "no GGUF magic") }
        position = 4
        version = UInt32(try fixed(4))
        guard (1...3).contains(version) else { throw Malformed(offset: 4, reason: "unsupported GGUF version \(version)") }
        let tensorCount = try count(), metadataCount = try count()
        guard tensorCount <= GgufChecker.maxCount, metadataCount <= GgufChecker.maxCount else {
            throw Malformed(offset: 8, reason: "tensor count \(tensorCount) or metadata count \(metadataCount) is beyond \(GgufChecker.maxCount)")
        }
        var keys = Set<[UInt8]>()
        for _ in 0..<metadataCount {
            let keyOffset = position
            guard let key = try string(keep: true, limit: GgufChecker.maxNameBytes) else { continue }
            guard keys.insert(key).inserted else {
                throw Malformed(offset: keyOffset, reason: "duplicate key \(String(decoding: key, as: UTF8.self).debugDescription) (ggml refuses the file; other readers keep one of the values)")
            }
            keyCount += 1
            let type = UInt32(try fixed(4))
            let isTemplate = key.starts(with: Array("tokenizer.chat_template".utf8))
            if isTemplate {
                guard type == 8 else {
                    findings.append(FormatFinding(.error, .malformedTemplate,
                        "\(String(decoding: key, as: UTF8.self)) is not a string (type \(type)); the scanner cannot tell what a server makes of it"))
                    try value(type: type, depth: 0)
                    continue
                }
                guard let template = try string(keep: true, limit: GgufChecker.maxTemplateBytes) else { continue }
                templateCount += 1
                let name = String(decoding: key, as: UTF8.self)
                for problem in JinjaTemplateCheck.check(template) {
                    findings.append(FormatFinding(problem.severity, problem.severity == .error ? .malformedTemplate : .dangerousTemplate,
                                                  "\(name): \(problem.message)", at: name))
                }
            } else {
                try value(type: type, depth: 0)
            }
        }
        for _ in 0..<tensorCount {
            _ = try string(keep: false, limit: GgufChecker.maxNameBytes)
            let dims = try fixed(4)
            guard dims <= 4 else { throw Malformed(offset: position - 4, reason: "tensor with \(dims) dimensions (ggml allows at most 4)") }
            try skip(dims * 8 + 4 + 8)
        }
    }

    /// Skips one value of `type`.
    private mutating func value(type: UInt32, depth: Int) throws {
        if let size = GgufChecker.scalarSizes[type] {
            try skip(UInt64(size))
            return
        }
        switch type {
        case 8:
            _ = try string(keep: false, limit: 0)
        case 9:
            guard depth < GgufChecker.maxArrayDepth else { throw Malformed(offset: position, reason: "arrays nested more than \(GgufChecker.maxArrayDepth) levels") }
            let elementType = UInt32(try fixed(4))
            let n = try count()
            if let size = GgufChecker.scalarSizes[elementType] {
                guard n <= UInt64(source.count - position) / UInt64(size) else { throw Malformed(offset: position, reason: "array of \(n) elements runs past the end of the file") }
                try skip(n * UInt64(size))
            } else {
                guard elementType == 8 || elementType == 9 else { throw Malformed(offset: position, reason: "array of unknown type \(elementType)") }
                // Each element takes at least 8 bytes (a string length or array header).
                guard n <= UInt64(source.count - position) / 8 else { throw Malformed(offset: position, reason: "array of \(n) elements runs past the end of the file") }
                for _ in 0..<n { try value(type: elementType, depth: depth + 1) }
            }
        default:
            throw Malformed(offset: position - 4, reason: "unknown value type \(type)")
        }
    }
}
