/// The schema of the model card given with `--metadata` (docs/evidence.md,
/// "Model card"): which fields exist, their types, which are required.
/// Unknown fields, wrong types, licences that are not SPDX expressions and
/// data sets without a SHA-256 are refused, naming the line when the card
/// came from a file. Field names are compared as exact UTF-8 bytes.
public enum ModelCardSchema {
    /// The value of the optional top-level `schema` field.
    public static let identifier = "modelsec-model-card/v1"

    /// What a field holds.
    indirect enum Kind: Sendable {
        /// Any string.
        case string
        /// An SPDX license expression.
        case spdx
        /// 64 lowercase hex digits.
        case sha256
        /// `sha256:` and 64 lowercase hex digits.
        case digest
        /// A number (integer or not).
        case number
        /// One of the strings.
        case oneOf([String])
        /// A list of values of the kind.
        case list(Kind)
        /// A mapping with exactly these fields.
        case object([Field])
        /// A mapping from any name to a string, number or boolean.
        case scalarMap
        /// A mapping from any name to a string.
        case stringMap
        /// Any mapping, kept as written.
        case anyMapping
    }

    /// A named field.
    struct Field: Sendable {
        let name: String
        let kind: Kind
        let required: Bool
        init(_ name: String, _ kind: Kind, required: Bool = false) {
            self.name = name
            self.kind = kind
            self.required = required
        }
    }

    /// The `role` values of a data set.
    public static let datasetRoles = ["training", "fine-tuning", "validation", "test", "evaluation"]
    /// The `model_parameters.approach` values (CycloneDX 1.6 `approach.type`).
    public static let approaches = ["supervised", "unsupervised", "reinforcement-learning", "semi-supervised", "self-supervised"]

    static let top: [Field] = [
        Field("schema", .oneOf([identifier])),
        Field("description", .string),
        Field("license", .spdx),
        Field("owner", .string),
        Field("intended_use", .string),
        Field("training_data", .string),
        Field("base_model", .object([
            Field("name", .string, required: true),
            Field("version", .string),
            Field("digest", .digest, required: true),
            Field("url", .string),
        ])),
        Field("model_parameters", .object([
            Field("task", .string),
            Field("architecture_family", .string),
            Field("model_architecture", .string),
            Field("approach", .oneOf(approaches)),
            Field("inputs", .list(.string)),
            Field("outputs", .list(.string)),
            Field("hyperparameters", .scalarMap),
        ])),
        Field("datasets", .list(.object([
            Field("name", .string, required: true),
            Field("sha256", .sha256, required: true),
            Field("role", .oneOf(datasetRoles)),
            Field("version", .string),
            Field("url", .string),
            Field("license", .spdx),
            Field("classification", .string),
            Field("description", .string),
        ]))),
        Field("metrics", .list(.object([
            Field("name", .string, required: true),
            Field("value", .number, required: true),
            Field("dataset", .string),
            Field("slice", .string),
            Field("confidence_lower", .number),
            Field("confidence_upper", .number),
        ]))),
        Field("considerations", .object([
            Field("users", .list(.string)),
            Field("use_cases", .list(.string)),
            Field("technical_limitations", .list(.string)),
            Field("performance_tradeoffs", .list(.string)),
            Field("ethical_considerations", .list(.object([
                Field("name", .string, required: true),
                Field("mitigation", .string),
            ]))),
        ])),
        Field("extra", .anyMapping),
    ]

    /// The top-level field names, in schema order.
    public static var fieldNames: [String] { top.map(\.name) }

    /// Checks `fields` against the schema. `lines` maps a field's place
    /// (`datasets[0].sha256`; `` for the document) to its 1-based line.
    static func check(_ fields: [String: MetadataValue], lines: [String: Int], source: String) throws {
        try check(.object(fields), kind: .object(top), place: "", lines: lines,
                  context: Context(source: source, document: "the model card", kind: .modelCardInvalid))
    }

    /// What a document's errors say: its file, what it is, their code.
    struct Context {
        let source: String
        let document: String
        let kind: ReleaseInputError.Kind
    }

    /// Checks `value` (at `place` in the document) against `kind`.
    static func check(_ value: MetadataValue, kind: Kind, place: String, lines: [String: Int], context: Context) throws {
        func refuse(_ reason: String, at where_: String? = nil) -> ReleaseInputError {
            let key = where_ ?? place
            let line = lines[key] ?? lines[place]
            let name = key.isEmpty ? context.document : key
            return ReleaseInputError(path: context.source, reason: "\(line.map { "line \($0): " } ?? "")\(name) \(reason)",
                                     kind: context.kind)
        }
        switch kind {
        case .string:
            guard value.stringValue != nil else { throw refuse("must be a string, not \(value.kindName)") }
        case .spdx:
            guard let text = value.stringValue else { throw refuse("must be an SPDX license expression (a string), not \(value.kindName)") }
            do { _ = try SPDXExpression(text) } catch let error as SPDXExpression.SyntaxError {
                throw refuse("is not an SPDX license expression: \(error.reason)")
            }
        case .sha256:
            guard let text = value.stringValue, isHex64(text) else { throw refuse("must be a SHA-256: 64 lowercase hex digits (quoted if it has only digits)") }
        case .digest:
            guard let text = value.stringValue, text.hasPrefix("sha256:"), isHex64(String(text.dropFirst(7))) else {
                throw refuse("must be sha256: followed by 64 lowercase hex digits")
            }
        case .number:
            switch value {
            case .integer, .number: break
            default: throw refuse("must be a number, not \(value.kindName)")
            }
        case let .oneOf(options):
            guard let text = value.stringValue, options.contains(where: { Array($0.utf8) == Array(text.utf8) }) else {
                throw refuse("must be one of \(options.joined(separator: ", "))")
            }
        case let .list(element):
            guard case let .array(items) = value else { throw refuse("must be a list, not \(value.kindName)") }
            for (index, item) in items.enumerated() {
                try check(item, kind: element, place: "\(place)[\(index)]", lines: lines, context: context)
            }
        case let .object(fields):
            guard case let .object(members) = value else { throw refuse("must be a mapping, not \(value.kindName)") }
            let prefix = place.isEmpty ? "" : place + "."
            // Unknown names first, in document order (by line), compared as bytes.
            let ordered = members.keys.sorted { a, b in
                let (la, lb) = (lines[prefix + a] ?? 0, lines[prefix + b] ?? 0)
                return la != lb ? la < lb : Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            }
            for name in ordered where !fields.contains(where: { Array($0.name.utf8) == Array(name.utf8) }) {
                let known = fields.map(\.name).joined(separator: ", ")
                throw refuse("is not a field of \(place.isEmpty ? context.document : place) (known: \(known))", at: prefix + name)
            }
            for field in fields {
                guard let member = members[field.name] else {
                    if field.required { throw refuse("needs the field \(field.name)") }
                    continue
                }
                try check(member, kind: field.kind, place: prefix + field.name, lines: lines, context: context)
            }
        case .scalarMap:
            guard case let .object(members) = value else { throw refuse("must be a mapping, not \(value.kindName)") }
            for (name, member) in members {
                switch member {
                case .string, .integer, .number, .bool: break
                default: throw refuse("must be a string, number or boolean, not \(member.kindName)", at: "\(place).\(name)")
                }
            }
        case .stringMap:
            guard case let .object(members) = value else { throw refuse("must be a mapping, not \(value.kindName)") }
            for (name, member) in members where member.stringValue == nil {
                throw refuse("must be a string, not \(member.kindName)", at: "\(place).\(name)")
            }
        case .anyMapping:
            guard case .object = value else { throw refuse("must be a mapping, not \(value.kindName)") }
        }
    }

    static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
