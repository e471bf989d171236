/// What a numpy dtype description builds, as far as the scanner needs to
/// know: whether the dtype holds Python objects (then the data is a pickle
/// stream) and, when it provably does not, its item size.
///
/// The classification is an allowlist of the forms numpy itself writes.
/// `np.dtype` accepts far more (comma strings, shape prefixes, aliases such
/// as `object`, `O8`, `object_`, dicts, `(base, new)` unions): every form
/// that is not fully classified is `unknown`, and callers treat `unknown` as
/// "may hold objects" (fail closed).
enum DtypeVerdict: Equatable {
    /// Holds no objects; the item size when it is known.
    case objectFree(itemSize: UInt64?)
    /// Holds objects (numpy unpickles the data).
    case holdsObjects
    /// Not fully classified: may hold objects.
    case unknown

    /// Whether the verdict proves that the dtype holds no objects.
    var isObjectFree: Bool {
        if case .objectFree = self { return true }
        return false
    }

    /// Combines the verdicts of the fields of a structured dtype.
    static func fields(_ verdicts: [DtypeVerdict]) -> DtypeVerdict {
        if verdicts.contains(.holdsObjects) { return .holdsObjects }
        var total: UInt64? = 0
        for verdict in verdicts {
            guard case .objectFree(let size) = verdict else { return .unknown }
            total = NumpyDtype.add(total, size)
        }
        return .objectFree(itemSize: total)
    }

    /// The verdict for a sub-array of `count` elements of this dtype.
    func repeated(_ count: UInt64?) -> DtypeVerdict {
        guard case .objectFree(let size) = self else { return self }
        return .objectFree(itemSize: NumpyDtype.multiply(size, count))
    }
}

enum NumpyDtype {
    /// Deepest nesting of structured / sub-array descriptions classified.
    static let maxDepth = 16

    /// The spellings of the object type that the scanner recognizes as such
    /// (after an optional byte-order character). Any other spelling of an
    /// object type is `unknown`, which callers treat the same way.
    static let objectSpellings: Set<String> = ["O", "O4", "O8", "object", "object_"]

    /// Classifies a dtype string as `np.dtype(string)` reads it. Object-free
    /// only for `[<>|=]kind digits` (kind one of `b i u f c S U V m M`, the
    /// datetime kinds with an optional `[unit]`); the byte-order character is
    /// optional when `byteOrderOptional` (the codes dtype pickles carry).
    static func classify(typeString: String, byteOrderOptional: Bool) -> DtypeVerdict {
        var bytes = Array(typeString.utf8)
        if let first = bytes.first, "<>|=".utf8.contains(first) {
            bytes.removeFirst()
        } else if !byteOrderOptional {
            return objectSpellings.contains(where: { $0.utf8.elementsEqual(bytes) }) ? .holdsObjects : .unknown
        }
        if objectSpellings.contains(where: { $0.utf8.elementsEqual(bytes) }) { return .holdsObjects }
        guard let kind = bytes.first, "biufcSUVmM".utf8.contains(kind) else { return .unknown }
        var index = 1
        var digits: UInt64 = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (times, overflow1) = digits.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[index] - 0x30))
            guard !overflow1, !overflow2 else { return .unknown }
            digits = sum
            index += 1
        }
        guard index > 1 else { return .unknown }   // a bare kind letter is a char code with other meanings
        if kind == UInt8(ascii: "m") || kind == UInt8(ascii: "M"), index < bytes.count {
            guard bytes[index] == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]"), bytes.count - index >= 3 else { return .unknown }
            let unit = bytes[(index + 1)..<(bytes.count - 1)].drop { $0 >= 0x30 && $0 <= 0x39 }
            guard !unit.isEmpty, unit.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else { return .unknown }
            index = bytes.count
        }
        guard index == bytes.count else { return .unknown }
        switch kind {
        case UInt8(ascii: "U"): return .objectFree(itemSize: multiply(digits, 4))
        default: return .objectFree(itemSize: digits)
        }
    }

    /// Classifies the `descr` of a .npy header as `numpy.lib.format.descr_to_dtype`
    /// interprets it: a string is `np.dtype(string)`; a 2-tuple is `(descr, shape)`;
    /// a list holds fields `(name, descr)` or `(name, descr, shape)`, where the
    /// name may be a `(title, name)` pair. Other shapes (dicts, lists used as
    /// fields, strings iterated as fields, longer tuples) are `unknown`.
    static func classify(descr: PythonLiteral, depth: Int = 0) -> DtypeVerdict {
        guard depth < maxDepth else { return .unknown }
        switch descr {
        case .string(let type):
            return classify(typeString: type, byteOrderOptional: false)
        case .tuple(let parts):
            guard parts.count == 2, let count = elementCount(parts[1]) else { return .unknown }
            return classify(descr: parts[0], depth: depth + 1).repeated(count)
        case .list(let fields):
            var verdicts: [DtypeVerdict] = []
            for field in fields {
                guard case .tuple(let parts) = field, parts.count == 2 || parts.count == 3, isFieldName(parts[0]) else {
                    return .unknown
                }
                var verdict = classify(descr: parts[1], depth: depth + 1)
                if parts.count == 3 {
                    guard let count = elementCount(parts[2]) else { return .unknown }
                    verdict = verdict.repeated(count)
                }
                verdicts.append(verdict)
            }
            return .fields(verdicts)
        default:
            return .unknown
        }
    }

    /// A field name: a string, or a `(title, name)` pair of strings.
    private static func isFieldName(_ value: PythonLiteral) -> Bool {
        switch value {
        case .string: return true
        case .tuple(let pair):
            guard pair.count == 2, case .string = pair[1] else { return false }
            if case .string = pair[0] { return true }
            return pair[0] == .none
        default: return false
        }
    }

    /// The element count of a sub-array shape (a non-negative int or a tuple of them).
    private static func elementCount(_ shape: PythonLiteral) -> UInt64? {
        switch shape {
        case .int(let value): return value >= 0 ? UInt64(value) : nil
        case .tuple(let dimensions):
            var count: UInt64? = 1
            for dimension in dimensions {
                guard case .int(let value) = dimension, value >= 0 else { return nil }
                count = multiply(count, UInt64(value))
            }
            return count
        default: return nil
        }
    }

    static func multiply(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
        guard let a, let b else { return nil }
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : product
    }

    static func add(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
        guard let a, let b else { return nil }
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }
}
