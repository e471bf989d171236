/// Evaluates a numpy dtype built inside a pickle: `numpy.dtype(code, align,
/// copy)` (REDUCE) followed by `BUILD` with the state numpy's
/// `dtype.__reduce__` writes:
/// `(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`.
///
/// numpy's `dtype.__setstate__` takes the `flags` of that state as given, so a
/// pickle can set the object flag (`NPY_ITEM_HASOBJECT`, bit 0x01) on a type
/// that holds no objects, or clear it on one that does. Then `dtype.hasobject`
/// lies: joblib unpickles raw array bytes as a nested pickle stream (or reads
/// object pointers as raw bytes), and numpy treats raw bytes as object
/// pointers. The scanner therefore trusts a pickled dtype only when the type
/// its code and fields describe and its flags agree.
struct PickledDtype {
    /// numpy's `NPY_ITEM_HASOBJECT` / `NPY_ITEM_REFCOUNT` flag.
    static let objectFlag = 0x01
    /// Deepest nesting of sub-array and field dtypes evaluated.
    static let maxDepth = 8

    /// What the dtype holds, judged from its code, sub-array, fields and element size, ignoring `flags`.
    let described: DtypeVerdict
    /// The object flag of the BUILD state, when there is a state with integer flags.
    let objectFlag: Bool?

    /// The verdict numpy's loaders act on (`dtype.hasobject` is the flag):
    /// object-free only when the description is object-free and the flag (if any) agrees.
    var effective: DtypeVerdict {
        switch (described, objectFlag) {
        case (.holdsObjects, false?): return .unknown      // numpy would read object pointers as raw bytes
        case (.holdsObjects, _): return .holdsObjects
        case (.objectFree, true?): return .holdsObjects      // the flag makes numpy unpickle / dereference raw bytes
        case (.objectFree, _): return described
        case (.unknown, _): return .unknown
        }
    }

    /// Whether the state's flag contradicts a described type the scanner fully classified.
    var isForged: Bool {
        guard let flag = objectFlag else { return false }
        switch described {
        case .holdsObjects: return !flag
        case .objectFree: return flag
        case .unknown: return false
        }
    }

    /// The dtype that `value` is, or nil when it is not a tracked `numpy.dtype(...)` instance.
    init?(_ value: PickleValues.Value, in values: PickleValues, depth: Int = 0) {
        guard case .object(let index) = value, depth < PickledDtype.maxDepth else { return nil }
        let record = values.objects[index]
        guard record.isNumpyDtype else { return nil }
        guard let code = values.string(record.args.first) else {
            described = .unknown
            objectFlag = nil
            return
        }
        let base = NumpyDtype.classify(typeString: code, byteOrderOptional: true)
        guard let stateValue = record.state else {
            described = base
            objectFlag = nil
            return
        }
        guard case .tuple(let t) = stateValue, [8, 9].contains(values.tuples[t].count) else {
            described = .unknown
            objectFlag = nil
            return
        }
        let state = values.tuples[t]
        if case .int(let flags) = state[7] { objectFlag = flags & PickledDtype.objectFlag != 0 } else { objectFlag = nil }
        described = PickledDtype.describe(base: base, code: code, state: state, values: values, depth: depth)
    }

    /// The verdict from the code and the state's sub-array, names, fields and element size.
    private static func describe(base: DtypeVerdict, code: String, state: [PickleValues.Value],
                                 values: PickleValues, depth: Int) -> DtypeVerdict {
        let subarray = state[2], names = state[3], fields = state[4], elsize = state[5]
        var verdict = base
        switch (names, fields) {
        case (.none, .none):
            break
        case (.tuple(let n), .dict(let f)):
            // A structured dtype: every named field is (dtype, offset[, title]).
            var entries: [String: PickleValues.Value] = [:]
            for (key, value) in values.dicts[f] {
                guard let name = values.string(key) else { return .unknown }
                entries[name] = value
            }
            var fieldVerdicts: [DtypeVerdict] = []
            for nameValue in values.tuples[n] {
                guard let name = values.string(nameValue), case .tuple(let entry)? = entries[name],
                      let first = values.tuples[entry].first,
                      let fieldDtype = PickledDtype(first, in: values, depth: depth + 1) else { return .unknown }
                fieldVerdicts.append(fieldDtype.effective)
            }
            if fieldVerdicts.contains(.holdsObjects) { return .holdsObjects }
            guard fieldVerdicts.allSatisfy(\.isObjectFree) else { return .unknown }
            verdict = .objectFree(itemSize: nil)
        default:
            return .unknown
        }
        switch subarray {
        case .none:
            break
        case .tuple(let s):
            guard values.tuples[s].count == 2, let inner = PickledDtype(values.tuples[s][0], in: values, depth: depth + 1) else {
                return .unknown
            }
            if inner.effective == .holdsObjects { return .holdsObjects }
            guard inner.effective.isObjectFree else { return .unknown }
            verdict = .objectFree(itemSize: nil)
        default:
            return .unknown
        }
        guard case .objectFree(let codeSize) = verdict else { return verdict }
        // The element size: flexible kinds (S, U, V) take it from the state; the
        // others must agree with the code (-1 means "the type's own size").
        let kind = code.utf8.first { !"<>|=".utf8.contains($0) }
        guard case .int(let size) = elsize else { return .unknown }
        if let kind, "SUV".utf8.contains(kind) {
            return size >= 0 ? .objectFree(itemSize: UInt64(size)) : .objectFree(itemSize: codeSize)
        }
        if size == -1 { return .objectFree(itemSize: codeSize) }
        guard size >= 0, let codeSize, UInt64(size) == codeSize else { return .unknown }
        return .objectFree(itemSize: codeSize)
    }
}
