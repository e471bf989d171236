/// The header of a numpy `.npy` file (format versions 1.0, 2.0, 3.0).
///
/// Layout: `\x93NUMPY`, major, minor, header length (u16 LE for 1.0, u32 LE
/// for 2.0/3.0), then a Python dict literal (Latin-1 text for 1.0/2.0, UTF-8
/// for 3.0) with exactly the keys `descr`, `fortran_order` and `shape`. When
/// the dtype holds objects, the data that follows is a pickle stream, which
/// `np.load(allow_pickle=True)` runs. The dtype is classified by `NumpyDtype`
/// the way numpy's `descr_to_dtype` reads `descr`; a description the scanner
/// cannot fully classify counts as holding objects (its data must then be a
/// pickle the scanner can read, or the file is a finding).
struct NumpyArrayHeader {
    /// What the dtype is, as far as objects go.
    let verdict: DtypeVerdict
    /// Where the data (or pickle) starts.
    let dataOffset: Int
    /// The element count times item size, when the dtype provably holds no objects and its size is known.
    let expectedDataLength: UInt64?

    /// Whether the data must be read as a pickle stream (objects, or not proven object-free).
    var hasObjects: Bool { !verdict.isObjectFree }

    /// The 6-byte magic string.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The total header length announced by the first bytes of `prefix`
    /// (10 bytes for version 1.0, 12 for 2.0/3.0 are enough), so callers know
    /// how many bytes to supply to `init`.
    static func headerLength(_ prefix: [UInt8]) throws -> Int {
        guard prefix.count >= 10, Array(prefix[0..<6]) == magic else { throw Failure("missing .npy magic") }
        guard prefix[7] == 0, (1...3).contains(prefix[6]) else {
            throw Failure("unsupported .npy format version \(prefix[6]).\(prefix[7])")
        }
        if prefix[6] == 1 { return 10 + Int(le16(prefix, 8)) }
        guard prefix.count >= 12 else { throw Failure("header is truncated") }
        return 12 + Int(le32(prefix, 8))
    }

    init(_ bytes: [UInt8], limits: ScanLimits) throws {
        let total = try NumpyArrayHeader.headerLength(bytes)
        guard total - 10 <= limits.maxNpyHeaderBytes else { throw Failure("header is larger than \(limits.maxNpyHeaderBytes) bytes") }
        guard total <= bytes.count else { throw Failure("header is truncated") }
        let start = bytes[6] == 1 ? 10 : 12
        let text: String
        if bytes[6] == 3 {
            guard let utf8 = String(validating: bytes[start..<total], as: UTF8.self) else { throw Failure("header is not UTF-8 text") }
            text = utf8
        } else {
            text = String(String.UnicodeScalarView(bytes[start..<total].map { Unicode.Scalar($0) }))   // Latin-1
        }
        guard text.hasSuffix("\n") else { throw Failure("header does not end with a newline") }
        var parser = PythonLiteralParser(text: text)
        guard case .dict(let entries)? = try? parser.parseTopLevel() else { throw Failure("header is not a Python dict literal") }
        var fields: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard case .string(let name) = key else { throw Failure("header has a non-string key") }
            guard ["descr", "fortran_order", "shape"].contains(where: { $0.utf8.elementsEqual(name.utf8) }) else {
                throw Failure("header has a key other than descr, fortran_order and shape")
            }
            fields[name] = value
        }
        guard let descr = fields["descr"], case .bool? = fields["fortran_order"], case .tuple(let shape)? = fields["shape"] else {
            throw Failure("header lacks descr, fortran_order or shape")
        }
        var count: UInt64? = 1
        for dimension in shape {
            guard case .int(let value) = dimension, value >= 0 else { throw Failure("shape holds a non-integer or negative dimension") }
            count = NumpyDtype.multiply(count, UInt64(value))
        }
        verdict = NumpyDtype.classify(descr: descr)
        dataOffset = total
        if case .objectFree(let itemSize) = verdict {
            expectedDataLength = NumpyDtype.multiply(count, itemSize)
        } else {
            expectedDataLength = nil
        }
    }
}

/// A value of the small Python literal subset used in .npy headers.
indirect enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(PythonLiteral, PythonLiteral)])

    static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.none, .none): return true
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)): return a == b
        default: return false
        }
    }
}

/// Parses the Python literal subset (strings, ints, True/False/None, tuples,
/// lists, dicts) with a nesting limit; numpy's own reader uses `ast.literal_eval`.
struct PythonLiteralParser {
    struct Failure: Error {}
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private static let maxDepth = 32

    init(text: String) { scalars = Array(text.unicodeScalars) }

    mutating func parseTopLevel() throws -> PythonLiteral {
        let value = try parse(depth: 0)
        skipSpace()
        guard index == scalars.count else { throw Failure() }
        return value
    }

    private mutating func skipSpace() {
        while index < scalars.count, scalars[index] == " " || scalars[index] == "\n" || scalars[index] == "\t" { index += 1 }
    }

    private mutating func parse(depth: Int) throws -> PythonLiteral {
        guard depth < PythonLiteralParser.maxDepth else { throw Failure() }
        skipSpace()
        guard index < scalars.count else { throw Failure() }
        let c = scalars[index]
        switch c {
        case "'", "\"":
            index += 1
            var text = String.UnicodeScalarView()
            while index < scalars.count, scalars[index] != c {
                guard scalars[index] != "\\" else { throw Failure() }   // numpy never writes escapes
                text.append(scalars[index])
                index += 1
            }
            guard index < scalars.count else { throw Failure() }
            index += 1
            return .string(String(text))
        case "(", "[", "{":
            index += 1
            let close: Unicode.Scalar = c == "(" ? ")" : c == "[" ? "]" : "}"
            var items: [PythonLiteral] = []
            var pairs: [(PythonLiteral, PythonLiteral)] = []
            while true {
                skipSpace()
                guard index < scalars.count else { throw Failure() }
                if scalars[index] == close { index += 1; break }
                let item = try parse(depth: depth + 1)
                if c == "{" {
                    skipSpace()
                    guard index < scalars.count, scalars[index] == ":" else { throw Failure() }
                    index += 1
                    pairs.append((item, try parse(depth: depth + 1)))
                } else {
                    items.append(item)
                }
                skipSpace()
                guard index < scalars.count else { throw Failure() }
                if scalars[index] == "," { index += 1 } else if scalars[index] != close { throw Failure() }
            }
            switch c {
            case "(": return .tuple(items)
            case "[": return .list(items)
            default: return .dict(pairs)
            }
        default:
            var word = ""
            while index < scalars.count, scalars[index].properties.isAlphabetic || ("0"..."9").contains(scalars[index]) || scalars[index] == "-" || scalars[index] == "_" {
                word.unicodeScalars.append(scalars[index])
                index += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                var digits = word
                if digits.hasSuffix("L") { digits.removeLast() }   // Python 2 longs in old headers
                guard let value = Int(digits) else { throw Failure() }
                return .int(value)
            }
        }
    }
}
