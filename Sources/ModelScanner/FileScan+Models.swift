import Foundation

/// GGUF, ONNX, SavedModel and HDF5 readings of a file (the checks themselves
/// are in `GgufChecker`, `OnnxChecker`, `SavedModelChecker`, `Hdf5Checker`).
extension FileScan {
    /// Extensions that name an ONNX model.
    static let onnxExtensions: Set<String> = ["onnx"]

    /// An ONNX model or SavedModel graph, told by name (`.onnx`; `saved_model.pb`
    /// or `.pb`) or, for other names, by content: a protobuf whose field 1 is a
    /// varint and that parses as a model with a graph. Returns whether the file
    /// was read as one of them.
    mutating func scanProtobufModel(_ file: RandomAccessFile, prefix: [UInt8], ext: String) throws -> Bool {
        // The last path component, on bytes (NSString's lastPathComponent
        // was most of this function's cost for a file of another format).
        let pathBytes = path.utf8
        let name = pathBytes.lastIndex(of: UInt8(ascii: "/")).map { String(decoding: pathBytes[pathBytes.index(after: $0)...], as: UTF8.self) } ?? path
        let isSavedModelName = name.utf8.elementsEqual("saved_model.pb".utf8)
        let source = whole(file)
        if FileScan.onnxExtensions.contains(ext) {
            format = .onnx
            var checker = OnnxChecker(modelPath: path)
            if !checker.check(source), !checker.findings.contains(where: { $0.kind == .malformedModel }) {
                add(.error, .malformedModel, path, "ONNX file without a graph")
            }
            add(checker.findings)
            return true
        }
        if isSavedModelName || ext == "pb" {
            format = .savedModel
            var checker = SavedModelChecker()
            if checker.check(source) {
                add(checker.findings)
                return true
            }
            // Not a SavedModel: a frozen GraphDef (TensorFlow 1) is read the same way.
            var graphDef = SavedModelChecker()
            if !isSavedModelName, graphDef.checkGraphDef(source) {
                add(graphDef.findings)
                return true
            }
            add(checker.findings)
            if !checker.findings.contains(where: { $0.kind == .malformedModel }) {
                add(.error, .malformedModel, path, "protobuf file that is neither a SavedModel nor a GraphDef with nodes")
            }
            return true
        }
        // Other names: only content that parses completely as one of them counts.
        guard prefix.first == 0x08 else { return false }
        var onnx = OnnxChecker(modelPath: path)
        if onnx.check(source), onnx.nodeCount > 0 {
            format = .onnx
            add(onnx.findings)
            return true
        }
        var savedModel = SavedModelChecker()
        if savedModel.check(source), savedModel.nodeCount > 0 {
            format = .savedModel
            add(savedModel.findings)
            return true
        }
        return false
    }

    /// The HDF5 readings: where the HDF5 library would find a superblock (at
    /// 0, or after a user block at 512, 1024, ...), the Keras configuration
    /// there is checked; a superblock in a file that announces another format
    /// is a polyglot, itself an error finding.
    mutating func scanHdf5Readings(_ file: RandomAccessFile, announced: ModelFileFormat?) {
        for base in Hdf5Checker.superblockOffsets(file, head: head) {
            if base != 0 || announced != .hdf5 {
                add(.error, .malformedArchive, path,
                    "the file is also an HDF5 file (superblock at offset \(base)), which h5py and Keras read instead of its first format")
            }
            var checker = Hdf5Checker(file: file)
            checker.check(base: base)
            add(checker.findings)
        }
    }
}
