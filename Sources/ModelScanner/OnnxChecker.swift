#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// ONNX models (`onnx.ModelProto`, protobuf), read with `ProtobufReader`.
///
/// Fields read (onnx/onnx.proto): ModelProto `graph` (7), `functions` (25),
/// `training_info` (20: `initialization` 1, `algorithm` 2); GraphProto `node`
/// (1), `initializer` (5), `sparse_initializer` (15: `values` 1, `indices` 2);
/// NodeProto `op_type` (4), `domain` (7), `attribute` (5); AttributeProto `t`
/// (5), `g` (6), `tensors` (10), `graphs` (11), `sparse_tensor` (22),
/// `sparse_tensors` (23); FunctionProto `node` (7); TensorProto
/// `external_data` (13: StringStringEntryProto `key` 1, `value` 2).
///
/// - An `external_data` `location` that is empty, absolute, has a drive or
///   a `..` component, contains NUL, or resolves (through symbolic links)
///   outside the model's directory is **dangerous**: onnx and onnxruntime
///   read that file when the model loads. A location that is missing is an error.
/// - A node whose `domain` is not the default (`""`) or `ai.onnx*` is a custom
///   operator, implemented by code registered outside the model: **suspicious**.
/// - Subgraphs (attribute graphs: `If`, `Loop`, `Scan` bodies), functions and
///   training graphs are walked, at most 64 levels deep.
struct OnnxChecker {
    /// Deepest graph nesting walked.
    static let maxDepth = 64
    /// Longest string read (domains, op types, keys, locations).
    static let maxString = 1 << 16
    /// Most custom-operator findings listed.
    static let maxListed = 1_000

    let modelPath: String
    var findings: [FormatFinding] = []
    /// Custom domains already reported (exact bytes).
    private var reportedDomains = Set<[UInt8]>()
    private var checkedLocations = Set<[UInt8]>()
    /// Nodes read.
    private(set) var nodeCount = 0

    init(modelPath: String) { self.modelPath = modelPath }

    /// Checks the model in `source`; malformed protobuf is an error finding.
    mutating func check(_ source: ByteSource) -> Bool {
        var graphs = 0
        do {
            var model = ProtobufReader(source)
            while let field = try model.next() {
                guard field.wireType == 2 else { continue }
                switch field.number {
                case 7: graphs += 1; try graph(model.message(field), depth: 0)
                case 25: try function(model.message(field), depth: 0)
                case 20:
                    var info = model.message(field)
                    while let inner = try info.next() {
                        if inner.wireType == 2, inner.number == 1 || inner.number == 2 { try graph(info.message(inner), depth: 1) }
                    }
                default: continue
                }
            }
        } catch let error as ProtobufReader.Malformed {
            findings.append(FormatFinding(.error, .malformedModel, "cannot parse the ONNX protobuf: \(error)"))
            return false
        } catch {
            findings.append(FormatFinding(.error, .malformedModel, "cannot read the ONNX model: \(error)"))
            return false
        }
        return graphs > 0
    }

    private mutating func graph(_ reader: ProtobufReader, depth: Int) throws {
        guard depth <= OnnxChecker.maxDepth else {
            throw ProtobufReader.Malformed(offset: reader.position, reason: "graphs nested more than \(OnnxChecker.maxDepth) levels")
        }
        var reader = reader
        while let field = try reader.next() {
            guard field.wireType == 2 else { continue }
            switch field.number {
            case 1: try node(reader.message(field), depth: depth)
            case 5: try tensor(reader.message(field))
            case 15:
                var sparse = reader.message(field)
                while let inner = try sparse.next() {
                    if inner.wireType == 2, inner.number == 1 || inner.number == 2 { try tensor(sparse.message(inner)) }
                }
            default: continue
            }
        }
    }

    private mutating func function(_ reader: ProtobufReader, depth: Int) throws {
        var reader = reader
        while let field = try reader.next() {
            if field.wireType == 2, field.number == 7 { try node(reader.message(field), depth: depth + 1) }
        }
    }

    private mutating func node(_ reader: ProtobufReader, depth: Int) throws {
        nodeCount += 1
        var reader = reader
        var domains: [[UInt8]] = []
        var opType: [UInt8] = []
        while let field = try reader.next() {
            guard field.wireType == 2 else { continue }
            switch field.number {
            case 4: opType = try reader.bytes(field, limit: OnnxChecker.maxString)
            case 7: domains.append(try reader.bytes(field, limit: OnnxChecker.maxString))
            case 5: try attribute(reader.message(field), depth: depth)
            default: continue
            }
        }
        // protobuf keeps the last value of a repeated scalar field; check every one anyway.
        for domain in domains where !OnnxChecker.isStandardDomain(domain) && reportedDomains.insert(domain).inserted
            && reportedDomains.count <= OnnxChecker.maxListed {
            let name = String(decoding: domain, as: UTF8.self).debugDescription
            findings.append(FormatFinding(.suspicious, .customOperator,
                "node \(String(decoding: opType.prefix(200), as: UTF8.self).debugDescription) uses operator domain \(name), which is not ai.onnx: a custom operator implemented by code registered outside the model"))
        }
    }

    /// `""`, `ai.onnx`, or `ai.onnx.` followed by anything (ai.onnx.ml, ai.onnx.training, ...).
    static func isStandardDomain(_ domain: [UInt8]) -> Bool {
        let base = Array("ai.onnx".utf8)
        if domain.isEmpty || domain == base { return true }
        return domain.count > base.count + 1 && Array(domain.prefix(base.count + 1)) == base + [UInt8(ascii: ".")]
    }

    private mutating func attribute(_ reader: ProtobufReader, depth: Int) throws {
        var reader = reader
        while let field = try reader.next() {
            guard field.wireType == 2 else { continue }
            switch field.number {
            case 5, 10: try tensor(reader.message(field))
            case 6, 11: try graph(reader.message(field), depth: depth + 1)
            case 22, 23:
                var sparse = reader.message(field)
                while let inner = try sparse.next() {
                    if inner.wireType == 2, inner.number == 1 || inner.number == 2 { try tensor(sparse.message(inner)) }
                }
            default: continue
            }
        }
    }

    private mutating func tensor(_ reader: ProtobufReader) throws {
        var reader = reader
        while let field = try reader.next() {
            guard field.wireType == 2, field.number == 13 else { continue }
            var entry = reader.message(field)
            var key: [UInt8]?, values: [[UInt8]] = []
            while let inner = try entry.next() {
                guard inner.wireType == 2 else { continue }
                if inner.number == 1 { key = try entry.bytes(inner, limit: OnnxChecker.maxString) }
                if inner.number == 2 { values.append(try entry.bytes(inner, limit: OnnxChecker.maxString)) }
            }
            guard key == Array("location".utf8) else { continue }
            for value in values where checkedLocations.insert(value).inserted {
                if let finding = checkLocation(value) { findings.append(finding) }
            }
        }
    }

    /// `path` with every symbolic link resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The finding for one external data location, or nil when it names a file inside the model's directory.
    func checkLocation(_ raw: [UInt8]) -> FormatFinding? {
        let shown = String(decoding: raw.prefix(300), as: UTF8.self).debugDescription
        guard let location = String(validating: raw, as: UTF8.self), !raw.isEmpty, !raw.contains(0) else {
            return FormatFinding(.dangerous, .externalReference, "external data location \(shown) is empty, not UTF-8 or contains NUL")
        }
        let components = location.split(omittingEmptySubsequences: false) { $0 == "/" || $0 == "\\" }
        let hasDrive = raw.count >= 2 && raw[1] == UInt8(ascii: ":")
        if raw[0] == UInt8(ascii: "/") || raw[0] == UInt8(ascii: "\\") || hasDrive || components.contains("..") {
            return FormatFinding(.dangerous, .externalReference,
                                 "external data location \(shown) leaves the model's directory: onnx and onnxruntime read that file when the model loads")
        }
        let directory = (modelPath as NSString).deletingLastPathComponent
        let target = (directory.isEmpty ? "." : directory) + "/" + location
        guard let resolvedDirectory = OnnxChecker.realPath(directory.isEmpty ? "." : directory) else {
            return FormatFinding(.error, .externalReference, "cannot resolve the model's directory to check external data \(shown)")
        }
        guard let resolved = OnnxChecker.realPath(target) else {
            return FormatFinding(.error, .externalReference, "external data file \(shown) does not exist beside the model")
        }
        guard resolved.utf8.starts(with: (resolvedDirectory + "/").utf8) else {
            return FormatFinding(.dangerous, .externalReference,
                                 "external data location \(shown) resolves (through a symbolic link) outside the model's directory")
        }
        return nil
    }
}
