/// How the scanner judges one imported global (`module.name`).
public enum GlobalClassification: String, Codable, Sendable {
    /// On the allowlist (PyTorch's `weights_only` set, numpy's and joblib's array machinery).
    case safe
    /// On the denylist: importing it lets a pickle run code or touch the system.
    case dangerous
    /// Not on the allowlist: not proven safe. Reported as a `suspicious`
    /// finding, which the shipped policies deny.
    case unknown
}

/// A global that a pickle stream imports (via GLOBAL, INST or STACK_GLOBAL).
public struct ImportedGlobal: Codable, Hashable, Sendable {
    /// The module part, as written in the stream.
    public let module: String
    /// The (possibly dotted) name part, as written in the stream.
    public let name: String
    /// The classification.
    public let classification: GlobalClassification
    /// How many times the stream imports it.
    public var count: Int

    /// `module.name`.
    public var qualifiedName: String { "\(module).\(name)" }
}

/// How serious a finding is. Every severity makes a scan unclean (exit 1),
/// and the shipped policies (baseline and strict) deny all three: the scanner
/// passes only what it has proven safe.
public enum FindingSeverity: String, Codable, Sendable, Comparable {
    /// Known to enable code execution or system access (denylisted globals,
    /// forged dtype flags, references to files outside the model).
    case dangerous
    /// Not proven safe: a global that is not on the allowlist, an import that
    /// cannot be resolved statically, a copyreg extension code.
    case suspicious
    /// The scanner could not fully read, parse or disambiguate something
    /// (malformed or ambiguous archives, unknown formats), so it cannot vouch for it.
    case error

    private var rank: Int {
        switch self {
        case .dangerous: return 0
        case .suspicious: return 1
        case .error: return 2
        }
    }

    /// Orders by seriousness: dangerous < suspicious < error (most serious first when sorted).
    public static func < (lhs: FindingSeverity, rhs: FindingSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// What a finding is about; stable strings for CI systems and the policy checker.
public enum FindingKind: String, Codable, Sendable {
    /// A denylisted global.
    case dangerousGlobal = "dangerous-global"
    /// A global on neither list.
    case unknownGlobal = "unknown-global"
    /// STACK_GLOBAL whose module/name are not constant strings the scanner can resolve.
    case unresolvedGlobal = "unresolved-global"
    /// EXT1/EXT2/EXT4: an import through the copyreg extension registry.
    case extensionCode = "extension-code"
    /// A pickle stream that does not parse to its STOP opcode.
    case malformedPickle = "malformed-pickle"
    /// Input beyond a size, memo, stack or entry-count limit.
    case resourceLimit = "resource-limit"
    /// A zip archive whose structure is invalid or inconsistent.
    case malformedArchive = "malformed-archive"
    /// A zip entry the scanner cannot read (encrypted, unsupported compression, bad CRC).
    case unreadableEntry = "unreadable-entry"
    /// A .npy file or member whose header is invalid.
    case malformedNumpy = "malformed-npy"
    /// A .safetensors file that fails the structural checks.
    case malformedSafetensors = "malformed-safetensors"
    /// A file whose format the scanner cannot tell.
    case unknownFormat = "unknown-format"
    /// Bytes after the last pickle stream that are not part of a known layout.
    case trailingData = "trailing-data"
    /// A path that could not be opened or read.
    case unreadableFile = "unreadable-file"
    /// A pickle that makes its loader read another file (joblib's
    /// `NDArrayWrapper`): dangerous when the name leaves the model's directory,
    /// an error when the file is missing; the file itself is scanned.
    case externalReference = "external-reference"
    /// A numpy dtype whose pickled state sets the object flag on a type that
    /// holds no objects (numpy would then treat raw bytes as object pointers,
    /// and joblib would unpickle the array data as a nested stream).
    case forgedObjectFlag = "forged-object-flag"
    /// A GGUF chat template that reaches outside Jinja's safe subset (template injection).
    case dangerousTemplate = "dangerous-template"
    /// A GGUF chat template the scanner cannot parse.
    case malformedTemplate = "malformed-template"
    /// An ONNX node in an operator domain other than the standard `ai.onnx*` ones.
    case customOperator = "custom-operator"
    /// A Keras layer or object that runs code or imports a module outside Keras.
    case unsafeLayer = "unsafe-layer"
    /// A TensorFlow operation that reads or writes files or runs Python.
    case dangerousOperation = "dangerous-operation"
    /// A GGUF, ONNX, Keras, HDF5 or SavedModel file that fails to parse or is ambiguous.
    case malformedModel = "malformed-model"
}

/// One problem the scanner reports.
public struct ScanFinding: Codable, Hashable, Sendable {
    /// How serious it is.
    public let severity: FindingSeverity
    /// What kind of problem.
    public let kind: FindingKind
    /// The file, plus `:entry` for a member of an archive.
    public let location: String
    /// Byte offset within the stream or file, when meaningful.
    public let offset: Int?
    /// `module.name` for findings about a global.
    public let global: String?
    /// One line for a person.
    public let message: String

    /// A finding; `offset` and `global` only where they apply.
    public init(severity: FindingSeverity, kind: FindingKind, location: String, offset: Int? = nil,
                global: String? = nil, message: String) {
        self.severity = severity
        self.kind = kind
        self.location = location
        self.offset = offset
        self.global = global
        self.message = message
    }
}

/// The file formats the scanner recognizes (by content, not extension).
public enum ModelFileFormat: String, Codable, Sendable {
    /// A plain pickle stream (.pkl, .pickle, .joblib, .dat, ...).
    case pickle
    /// A pre-1.6 PyTorch file: several pickles followed by raw storage bytes.
    case pytorchLegacy = "pytorch-legacy"
    /// A PyTorch zip checkpoint (`*/data.pkl`).
    case pytorchZip = "pytorch-zip"
    /// A numpy `.npz` (zip of .npy members).
    case npz
    /// A zip archive with other content (its pickle/.npy members are still scanned).
    case zip
    /// A numpy `.npy` array.
    case npy
    /// A legacy PyTorch tar checkpoint (`pickle`, `storages`, `tensors` members).
    case pytorchTar = "pytorch-legacy-tar"
    /// A `.safetensors` file.
    case safetensors
    /// A GGUF file (llama.cpp): metadata and chat templates checked.
    case gguf
    /// An ONNX model (protobuf `ModelProto`).
    case onnx
    /// A Keras 3 `.keras` archive (zip with `config.json`).
    case keras
    /// An HDF5 file (legacy Keras `.h5`).
    case hdf5
    /// A TensorFlow SavedModel graph (`saved_model.pb`).
    case savedModel = "saved-model"
    /// Not recognized.
    case unknown
}

/// One pickle stream that was parsed.
public struct PickleStreamReport: Codable, Sendable {
    /// The file, plus `:entry` for an archive member, plus `#n` for the n-th stream of a file.
    public let location: String
    /// The highest protocol the stream declared with PROTO (nil: protocol 0/1, no PROTO).
    public let pickleProtocol: Int?
    /// Number of opcodes read.
    public let opcodeCount: Int
    /// Whether the stream was read to its STOP opcode.
    public let complete: Bool
    /// The globals it imports, in first-import order.
    public let globals: [ImportedGlobal]

    enum CodingKeys: String, CodingKey {
        case location, pickleProtocol = "protocol", opcodeCount, complete, globals
    }
}

/// The result for one file.
public struct FileScanReport: Codable, Sendable {
    /// The path as given (or as found while walking a directory).
    public let path: String
    /// The format detected from the content.
    public let format: ModelFileFormat
    /// The file's size in bytes (nil when it could not be read).
    public let size: UInt64?
    /// Every pickle stream parsed in the file.
    public let streams: [PickleStreamReport]
    /// Every finding in the file, most severe first.
    public let findings: [ScanFinding]
    /// Files this file makes its loader read (joblib `NDArrayWrapper` names),
    /// as paths beside it; each is scanned too (see `ModelScanner.scan(paths:)`).
    public let references: [String]

    /// True when the file has no finding.
    public var isClean: Bool { findings.isEmpty }
}

/// Totals over a scan.
public struct ScanSummary: Codable, Sendable {
    /// Files scanned (including unreadable ones).
    public let files: Int
    /// Pickle streams parsed.
    public let streams: Int
    /// Findings of severity `dangerous`.
    public let dangerous: Int
    /// Findings of severity `suspicious`.
    public let suspicious: Int
    /// Findings of severity `error` (unparseable, unreadable, unknown format).
    public let errors: Int
    /// Paths that could not be read at all.
    public let unreadable: Int
    /// True when there is no finding at all.
    public let clean: Bool
}

/// The whole scan: what `modelsec scan --json` prints.
public struct ScanReport: Codable, Sendable {
    /// The tool that produced the report.
    public let tool: String
    /// Per-file results, in the order scanned.
    public let files: [FileScanReport]
    /// Files skipped while walking directories because their content is not a
    /// model format (for example config.json); named here, never hidden.
    public let skipped: [String]
    /// Totals.
    public let summary: ScanSummary

    /// 0 clean, 1 any finding, 2 when some path could not be read.
    public var exitCode: Int32 {
        if summary.unreadable > 0 { return 2 }
        return summary.clean ? 0 : 1
    }

    init(files: [FileScanReport], skipped: [String]) {
        self.tool = "modelsec \(ModelSecVersionString.value)"
        self.files = files
        self.skipped = skipped
        let findings = files.flatMap(\.findings)
        summary = ScanSummary(
            files: files.count,
            streams: files.reduce(0) { $0 + $1.streams.count },
            dangerous: findings.filter { $0.severity == .dangerous }.count,
            suspicious: findings.filter { $0.severity == .suspicious }.count,
            errors: findings.filter { $0.severity == .error }.count,
            unreadable: findings.filter { $0.kind == .unreadableFile }.count,
            clean: findings.isEmpty
        )
    }
}
