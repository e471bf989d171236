import CYaml
import ModelSecIO
import Yams

/// The one YAML loader for the YAML files modelsec reads (policies, model
/// cards): `Yams.compose`, but only after libyaml's own event stream for the
/// same bytes has been walked with a budget.
///
/// Why a walk first: `Yams.compose` hashes every mapping key while it builds
/// the tree, and an alias stands for its whole anchored node, so a 500-byte
/// document whose key is an alias of nested aliases ("billion laughs") takes
/// minutes before any caller sees a node. The walk refuses, before anything
/// is built or hashed:
///
/// - documents over ``maximumDocumentSize`` bytes;
/// - an alias, list or mapping used as a mapping key (keys are plain
///   scalars; nothing modelsec reads uses complex keys);
/// - more than ``maximumNodeCount`` nodes, counting each alias as every node
///   of what it refers to;
/// - collections nested more than ``maximumDepth`` deep, an alias counting at
///   the depth of what it expands to;
/// - an alias that refers to no earlier anchor.
///
/// The walk reads libyaml (the C library Yams is built on, module `CYaml`)
/// directly, so it sees exactly the events `Yams.compose` will see. A syntax
/// error stops the walk, and `Yams.compose` then reports it as its usual
/// `YamlError` (everything before the error was within the limits).
public enum BoundedYAML {
    /// Documents larger than this many bytes (1 MiB) are refused.
    public static let maximumDocumentSize = 1 << 20
    /// Lists and mappings nested deeper than this are refused.
    public static let maximumDepth = 64
    /// Documents with more nodes than this (aliases expanded) are refused.
    public static let maximumNodeCount = 100_000

    /// A document refused by the walk (exit code 2). Never quotes the document.
    public struct Refusal: ModelSecError, Equatable {
        /// The file, as given to ``compose(_:source:)``.
        public let file: String
        /// ``file``, as the error contract names it.
        public var path: String? { file }
        /// Where the offending node starts (1-based; 0 when it is the whole document).
        public let line: Int
        /// See ``line``.
        public let column: Int
        /// What is wrong, for a person.
        public let reason: String

        /// The reason and, when known, its place: `… (line 3, column 5)`.
        public var detail: String { line > 0 ? "\(reason) (line \(line), column \(column))" : reason }

        /// A refusal of `path` at `line`:`column` (0 for the whole document).
        public init(path: String, line: Int, column: Int, reason: String) {
            self.file = path
            self.line = line
            self.column = column
            self.reason = reason
        }

        public var category: FailureCategory { .invalidInput }
        public var description: String { "\(file): \(detail)" }
    }

    /// The node of the single YAML document in `text` (nil when it is empty),
    /// composed by Yams once the walk described on the type accepts it.
    /// Throws a ``Refusal`` naming `source`, or Yams's `YamlError` for a
    /// syntax error.
    public static func compose(_ text: String, source: String) throws -> Node? {
        try walk(Array(text.utf8), source: source)
        return try Yams.compose(yaml: text)
    }

    /// What the walk knows about one open list or mapping.
    private struct Frame {
        let isMapping: Bool
        let anchor: String?
        /// Nodes so far, this one included (aliases expanded).
        var size = 1
        /// Levels of nesting so far, this one included.
        var height = 1
        /// For a mapping: whether the next node is a key.
        var expectsKey = true
    }

    /// Walks libyaml's events for `bytes` (UTF-8, as `Yams.compose` parses
    /// them) and throws at the first limit broken.
    static func walk(_ bytes: [UInt8], source: String) throws {
        guard bytes.count <= maximumDocumentSize else {
            throw Refusal(path: source, line: 0, column: 0,
                          reason: "the YAML document is \(bytes.count) bytes; the limit is \(maximumDocumentSize)")
        }
        guard !bytes.isEmpty else { return }  // no nodes (and libyaml wants a non-null input)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer { parser.deallocate(); event.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw Refusal(path: source, line: 0, column: 0, reason: "cannot start the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)

        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var open: [Frame] = []
            /// Expanded size and height of each anchored node, by anchor name (latest definition wins, as in Yams).
            var anchors: [String: (size: Int, height: Int)] = [:]
            var total = 0

            while true {
                // A syntax error ends the walk; Yams.compose reports it.
                guard yaml_parser_parse(parser, event) == 1 else { return }
                defer { yaml_event_delete(event) }
                let mark = event.pointee.start_mark
                func refuse(_ reason: String) -> Refusal {
                    Refusal(path: source, line: Int(mark.line) + 1, column: Int(mark.column) + 1, reason: reason)
                }

                /// A node of `size` nodes and `height` levels starts; `kind` names it
                /// when it is not a scalar (only scalars may be mapping keys).
                func begin(size: Int, height: Int, kind: String?) throws {
                    if let kind, let parent = open.last, parent.isMapping, parent.expectsKey {
                        throw refuse("\(kind) used as a mapping key: keys must be plain scalars")
                    }
                    total += size
                    guard total <= maximumNodeCount else {
                        throw refuse("more than \(maximumNodeCount) YAML nodes (aliases counted as what they refer to)")
                    }
                    guard open.count + height <= maximumDepth else {
                        throw refuse("nested more than \(maximumDepth) levels deep (aliases counted as what they refer to)")
                    }
                }
                /// A complete node of `size` nodes and `height` levels joins its parent.
                func attach(size: Int, height: Int) {
                    guard !open.isEmpty else { return }
                    open[open.count - 1].size += size
                    open[open.count - 1].height = max(open[open.count - 1].height, height + 1)
                    if open[open.count - 1].isMapping { open[open.count - 1].expectsKey.toggle() }
                }

                switch event.pointee.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_SCALAR_EVENT:
                    try begin(size: 1, height: 0, kind: nil)
                    if let name = anchorName(event.pointee.data.scalar.anchor) { anchors[name] = (1, 0) }
                    attach(size: 1, height: 0)
                case YAML_ALIAS_EVENT:
                    let name = anchorName(event.pointee.data.alias.anchor) ?? ""
                    guard let target = anchors[name] else { throw refuse("alias *\(name.prefix(64)) refers to no earlier anchor") }
                    try begin(size: target.size, height: target.height, kind: "an alias")
                    attach(size: target.size, height: target.height)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let isMapping = event.pointee.type == YAML_MAPPING_START_EVENT
                    try begin(size: 1, height: 1, kind: isMapping ? "a mapping" : "a list")
                    let anchor = isMapping ? event.pointee.data.mapping_start.anchor : event.pointee.data.sequence_start.anchor
                    open.append(Frame(isMapping: isMapping, anchor: anchorName(anchor)))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    let done = open.removeLast()
                    if let name = done.anchor { anchors[name] = (done.size, done.height) }
                    attach(size: done.size, height: done.height)
                default:
                    continue  // stream and document boundaries carry no node
                }
            }
        }
    }

    /// An anchor or alias name (libyaml admits only ASCII letters, digits, `-` and `_`).
    private static func anchorName(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
