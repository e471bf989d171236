/// TensorFlow SavedModel graphs (`saved_model.pb`, `tensorflow.SavedModel`),
/// read with `ProtobufReader`.
///
/// Fields read (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
/// framework/graph.proto, node_def.proto, function.proto, attr_value.proto):
/// SavedModel `meta_graphs` (2); MetaGraphDef `graph_def` (2); GraphDef `node`
/// (1) and `library` (2); FunctionDefLibrary `function` (1); FunctionDef
/// `node_def` (3); NodeDef `op` (2) and `attr` (5: map entry `key` 1, `value` 2);
/// AttrValue `s` (2).
///
/// Operations that read or write files or run Python when the graph runs are
/// **dangerous** (`dangerousOps`), and so is `PrintV2` whose `output_stream`
/// names a file. The checkpoint ops every SavedModel uses to restore its own
/// variables (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`, ...) are not flagged.
struct SavedModelChecker {
    /// Operations that touch the file system or run Python.
    static let dangerousOps: Set<String> = [
        "ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PyFuncStateless", "EagerPyFunc",
        "DeleteFile", "CopyFile", "RenameFile", "CreateDir", "DeleteRecursively", "FileExists",
        "ImmutableConst", "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
        "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader", "TFRecordReaderV2",
        "TextLineDataset", "TFRecordDataset", "TFRecordDatasetV2", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2",
        "CreateSummaryFileWriter", "WriteSummary", "WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary",
        "WriteAudioSummary", "WriteGraphSummary", "WriteRawProtoSummary", "DebugIdentity", "DebugIdentityV2",
        "DebugNumericSummary", "DebugNumericSummaryV2", "LoadAndRemapMatrix", "DecodeProtoV2", "Save", "SaveSlices",
        "Restore", "RestoreSlice", "ExperimentalSaveDataset", "SaveDataset", "SaveDatasetV2", "LoadDataset",
        "ExperimentalLMDBDataset", "LMDBDataset", "ExperimentalSqlDataset", "SqlDataset", "ExperimentalCSVDataset", "CSVDataset",
    ]
    static let maxString = 1 << 16

    var findings: [FormatFinding] = []
    private var reported = Set<String>()
    /// Nodes read.
    private(set) var nodeCount = 0

    /// Checks the SavedModel in `source`; false when it has no graph (not a SavedModel).
    mutating func check(_ source: ByteSource) -> Bool {
        var graphs = 0
        do {
            var model = ProtobufReader(source)
            while let field = try model.next() {
                guard field.wireType == 2, field.number == 2 else { continue }
                var meta = model.message(field)
                while let inner = try meta.next() {
                    guard inner.wireType == 2, inner.number == 2 else { continue }
                    graphs += 1
                    try graph(meta.message(inner))
                }
            }
        } catch let error as ProtobufReader.Malformed {
            findings.append(FormatFinding(.error, .malformedModel, "cannot parse the SavedModel protobuf: \(error)"))
            return false
        } catch {
            findings.append(FormatFinding(.error, .malformedModel, "cannot read the SavedModel: \(error)"))
            return false
        }
        return graphs > 0
    }

    /// Checks a bare `GraphDef` (a frozen TensorFlow 1 graph, `.pb`); false when it has no nodes.
    mutating func checkGraphDef(_ source: ByteSource) -> Bool {
        do {
            try graph(ProtobufReader(source))
        } catch {
            return false
        }
        return nodeCount > 0
    }

    private mutating func graph(_ reader: ProtobufReader) throws {
        var reader = reader
        while let field = try reader.next() {
            guard field.wireType == 2 else { continue }
            if field.number == 1 { try node(reader.message(field)) }
            if field.number == 2 {
                var library = reader.message(field)
                while let function = try library.next() {
                    guard function.wireType == 2, function.number == 1 else { continue }
                    var body = library.message(function)
                    while let inner = try body.next() {
                        if inner.wireType == 2, inner.number == 3 { try node(body.message(inner)) }
                    }
                }
            }
        }
    }

    private mutating func node(_ reader: ProtobufReader) throws {
        nodeCount += 1
        var reader = reader
        var ops: [[UInt8]] = []
        var outputStreams: [[UInt8]] = []
        while let field = try reader.next() {
            guard field.wireType == 2 else { continue }
            if field.number == 2 { ops.append(try reader.bytes(field, limit: SavedModelChecker.maxString)) }
            if field.number == 5 {
                var entry = reader.message(field)
                var key: [UInt8]?, values: [ProtobufReader.Field] = []
                while let inner = try entry.next() {
                    guard inner.wireType == 2 else { continue }
                    if inner.number == 1 { key = try entry.bytes(inner, limit: SavedModelChecker.maxString) }
                    if inner.number == 2 { values.append(inner) }
                }
                guard key == Array("output_stream".utf8) else { continue }
                for value in values {
                    var attr = entry.message(value)
                    while let s = try attr.next() {
                        if s.wireType == 2, s.number == 2 { outputStreams.append(try attr.bytes(s, limit: SavedModelChecker.maxString)) }
                    }
                }
            }
        }
        for raw in ops {
            let op = String(decoding: raw, as: UTF8.self)
            if SavedModelChecker.dangerousOps.contains(op), String(validating: raw, as: UTF8.self) != nil, reported.insert(op).inserted {
                findings.append(FormatFinding(.dangerous, .dangerousOperation,
                    "graph uses the operation \(op), which reads or writes files or runs Python when the model runs"))
            }
            if op == "PrintV2" {
                // Anything but the standard streams (stdout, stderr, log(...)) is a file path or URL.
                for stream in outputStreams where !SavedModelChecker.isStandardStream(stream) && reported.insert("PrintV2>" + String(decoding: stream, as: UTF8.self)).inserted {
                    findings.append(FormatFinding(.dangerous, .dangerousOperation,
                        "graph uses PrintV2 with output_stream \(String(decoding: stream.prefix(200), as: UTF8.self).debugDescription), which writes to a file"))
                }
            }
        }
    }

    /// `stdout`, `stderr` or `log(info|warning|error)`: PrintV2's non-file outputs.
    static func isStandardStream(_ stream: [UInt8]) -> Bool {
        ["stdout", "stderr", "log(info)", "log(warning)", "log(error)"].contains { Array($0.utf8) == stream }
    }
}
