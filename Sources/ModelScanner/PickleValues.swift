import ModelSecIO
/// The symbolic values a pickle stream builds, as far as the scanner tracks
/// them: strings, integers, globals, tuples, dicts and instances of known
/// callables. Everything else is `other`.
///
/// Containers are indices into per-stream arenas, never nested values, so no
/// chain of references can build up (releasing a million-deep chain would
/// overflow the call stack) and dicts keep Python's reference semantics
/// (SETITEMS through a memo copy mutates the same dict). The arenas are
/// bounded like the memo; past the bound new containers become `other`.
struct PickleValues {
    ///
    /// Every case is a plain number, so values are copied, stored in the
    /// stack, memo and arenas, and dropped without reference counting
    /// (retains and releases of string payloads were a tenth of scanning a
    /// small pickle, callgrind).
    enum Value {
        case mark
        /// A string: an index into the stream's string arena (``text(_:)``).
        case string(Int)
        /// An imported global: an index into `globals`.
        case global(Int)
        case int(Int)
        case none
        case tuple(Int)
        case dict(Int)
        /// An instance built by a known callable (NEWOBJ, REDUCE, INST, OBJ).
        case object(Int)
        case other
    }

    /// How an instance came to be, which decides whether `__init__` ran.
    enum Construction {
        /// `callable(*args)` (REDUCE, INST, OBJ): a class's `__init__` runs with the arguments.
        case call
        /// `cls.__new__(cls, *args)` (NEWOBJ, NEWOBJ_EX, copyreg's helpers): no `__init__`.
        case new
    }

    /// What the scanner knows about one imported global, worked out once per stream.
    struct GlobalInfo {
        let module: String
        let name: String
        /// `module.name` with the module mapped as `fix_imports` maps it.
        let canonical: String
        /// Instantiates the class given as its first argument (`GlobalClassifier.classInstantiators`):
        /// nil for other globals, else whether that class's `__init__` runs (with no arguments).
        let instantiatesArgument: Bool?
        /// May return an object of any class (`GlobalClassifier.passthroughCallables`).
        let passthrough: Bool
        /// `numpy.dtype`.
        let isNumpyDtype: Bool
        /// One of joblib's array wrappers, and which.
        let isNumpyArrayWrapper: Bool
        let isFileWrapper: Bool
        /// The wrapper's `__init__` parameters (nil for other globals).
        let initParameters: [JoblibWrapper.Parameter]?

        init(module: String, name: String) {
            self.module = module
            self.name = name
            let canonical = GlobalClassifier.canonicalName(module: module, name: name)
            self.canonical = canonical
            instantiatesArgument = GlobalClassifier.classInstantiators.first { $0.key.bytesEqual(canonical) }?.value
            passthrough = GlobalClassifier.containsExactly(GlobalClassifier.passthroughCallables, canonical)
            isNumpyDtype = canonical.bytesEqual("numpy.dtype")
            isNumpyArrayWrapper = GlobalClassifier.containsExactly(JoblibWrapper.numpyArrayWrapper, canonical)
            isFileWrapper = GlobalClassifier.containsExactly(JoblibWrapper.ndArrayWrapper, canonical)
            initParameters = JoblibWrapper.initParameters(canonical)
        }
    }

    /// One instance.
    struct ObjectRecord {
        /// The class or function that built it.
        let constructorIndex: Int
        /// `module.name` of that class or function (module mapped as `fix_imports` maps it).
        let constructor: String
        /// The positional arguments.
        let args: [Value]
        /// Whether `__init__` ran with `args`.
        let initialized: Bool
        /// Built by a callable that may return an arbitrary object (see `GlobalClassifier.passthroughCallables`).
        let opaque: Bool
        /// A `numpy.dtype` instance.
        let isNumpyDtype: Bool
        /// A joblib `NumpyArrayWrapper` / `NDArrayWrapper` instance.
        let isNumpyArrayWrapper: Bool
        let isFileWrapper: Bool
        /// Instance attributes set by `__init__` (modelled classes only) or by BUILD with a dict state.
        var attributes: [String: Value] = [:]
        /// The last non-dict BUILD state (what `__setstate__` received).
        var state: Value?
    }

    /// Interned globals (`Value.global` indexes them).
    private(set) var globals: [GlobalInfo] = []
    private var globalIndex: [String: Int] = [:]
    var tuples: [[Value]] = []
    var dicts: [[(Value, Value)]] = []
    var objects: [ObjectRecord] = []
    private var trackedSize = 0
    /// The UTF-8 bytes of every string value, back to back: a string is
    /// decoded and checked once, when its opcode is read, and made a Swift
    /// `String` only when something needs its text (a STACK_GLOBAL, a BUILD
    /// state's keys, a dtype). Always valid UTF-8.
    private var stringBytes: [UInt8] = []
    /// Where each string lies in `stringBytes`.
    private var stringSpans: [Range<Int>] = []
    /// Most bytes `stringBytes` holds; past it, new strings are `other`
    /// (anything that needs them as text then fails closed).
    static let maxStringArenaBytes = 16 << 20
    /// Set once the arenas are full: from then on new containers are `other`.
    private(set) var exhausted = false
    /// Set once a string was past the string bound and became `other`.
    private(set) var stringsDropped = false
    let budget: Int

    init(budget: Int) { self.budget = budget }

    /// Room for `bytes` string bytes and `count` strings before the arena grows.
    mutating func reserveStrings(bytes: Int, count: Int) {
        stringBytes.reserveCapacity(bytes)
        stringSpans.reserveCapacity(count)
    }

    private mutating func track(_ size: Int) -> Bool {
        trackedSize += size + 1
        if trackedSize > budget { exhausted = true }
        return !exhausted
    }

    mutating func makeTuple(_ items: [Value]) -> Value {
        guard track(items.count) else { return .other }
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    mutating func makeDict(_ items: [(Value, Value)]) -> Value {
        guard track(items.count * 2) else { return .other }
        dicts.append(items)
        return .dict(dicts.count - 1)
    }

    /// Appends to a tracked dict (SETITEM/SETITEMS); a no-op past the budget.
    mutating func append(_ items: [(Value, Value)], toDict index: Int) {
        guard track(items.count * 2) else { return }
        dicts[index].append(contentsOf: items)
    }

    /// The `Value.global` for `module.name` (interned: one entry per distinct
    /// global); `facts` are its ``GlobalFacts`` when the caller has them.
    mutating func global(_ module: String, _ name: String, facts: GlobalFacts? = nil) -> Value {
        let key = "\(module)\u{0}\(name)"
        if let index = globalIndex[key], globals[index].module.bytesEqual(module), globals[index].name.bytesEqual(name) {
            return .global(index)
        }
        globalIndex[key] = globals.count
        globals.append((facts ?? GlobalFacts.of(module: module, name: name)).info)
        return .global(globals.count - 1)
    }

    /// The value `callable(*args)` or `cls.__new__(cls, *args)` yields.
    mutating func construct(_ callable: Value, args: Value, how: Construction) -> Value {
        guard case .global(let index) = callable else { return .other }
        let argList: [Value]
        if case .tuple(let tupleIndex) = args { argList = tuples[tupleIndex] } else { argList = [] }
        if how == .call, let runsInit = globals[index].instantiatesArgument {
            // The result is an instance of the class given first (see GlobalClassifier.classInstantiators).
            switch argList.first {
            case .global(let classIndex)?:
                return runsInit ? makeObject(classIndex, args: [], how: .call) : makeObject(classIndex, args: Array(argList.dropFirst()), how: .new)
            case .string? where runsInit:
                // numpy 1.x passes a bit generator's name: the result is one of numpy's own generators.
                return makeObject(index, args: argList, how: .call)
            default:
                return .other
            }
        }
        return makeObject(index, args: argList, how: how)
    }

    private mutating func makeObject(_ index: Int, args: [Value], how: Construction) -> Value {
        guard track(args.count) else { return .other }
        let info = globals[index]
        var record = ObjectRecord(constructorIndex: index, constructor: info.canonical, args: args, initialized: how == .call,
                                  opaque: info.passthrough, isNumpyDtype: info.isNumpyDtype,
                                  isNumpyArrayWrapper: info.isNumpyArrayWrapper, isFileWrapper: info.isFileWrapper)
        if how == .call, let parameters = info.initParameters {
            // Model the wrapper's __init__: positional arguments, then the defaults.
            for (position, parameter) in parameters.enumerated() {
                if position < args.count {
                    record.attributes[parameter.name] = args[position]
                } else if let value = parameter.defaultValue {
                    record.attributes[parameter.name] = value
                }
            }
        }
        objects.append(record)
        return .object(objects.count - 1)
    }

    /// Applies a BUILD state to instance `index` the way `pickle`'s `load_build`
    /// does for a class without `__setstate__` (a dict, or a `(dict, slotstate)`
    /// pair, updates attributes); other states, and every state of a numpy
    /// dtype (which has `__setstate__`), are kept as `state`. Returns false
    /// when the state updates attributes the scanner cannot see.
    mutating func applyState(_ state: Value, to index: Int) -> Bool {
        if objects[index].isNumpyDtype {
            objects[index].state = state
            return true
        }
        var parts: [Value] = [state]
        if case .tuple(let t) = state, tuples[t].count == 2 { parts = tuples[t] }
        var complete = true
        for part in parts {
            switch part {
            case .dict(let d):
                for (key, value) in dicts[d] {
                    if case .string(let name) = key { objects[index].attributes[text(name)] = value } else { complete = false }
                }
            case .none:
                break
            default:
                if parts.count == 1 { objects[index].state = state }
                complete = false
            }
        }
        return complete
    }

    /// The string a value holds, if it is a constant string.
    func string(_ value: Value?) -> String? {
        if case .string(let index)? = value { return text(index) }
        return nil
    }

    /// The text of string `index` (a `Value.string` payload).
    func text(_ index: Int) -> String {
        String(decoding: stringBytes[stringSpans[index]], as: UTF8.self)
    }

    /// A string value whose UTF-8 bytes are `utf8` (the caller has checked
    /// they are valid UTF-8), or `other` past the arena's bound.
    mutating func makeString(utf8: some Collection<UInt8>) -> Value {
        let count = utf8.count
        guard count <= PickleValues.maxStringArenaBytes - stringBytes.count else {
            stringsDropped = true
            return .other
        }
        let start = stringBytes.count
        stringBytes.append(contentsOf: utf8)
        stringSpans.append(start..<stringBytes.count)
        return .string(stringSpans.count - 1)
    }

    /// A string value from Latin-1 bytes (what `BINSTRING`, `SHORT_BINSTRING`
    /// and `STRING` decode with the default encoding), or `other` past the arena's bound.
    mutating func makeString(latin1: some Collection<UInt8>) -> Value {
        // ASCII is the same in Latin-1 and UTF-8.
        if latin1.allSatisfy({ $0 < 0x80 }) { return makeString(utf8: latin1) }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(latin1.count * 2)
        for byte in latin1 {
            if byte < 0x80 {
                encoded.append(byte)
            } else {
                encoded.append(0xC0 | (byte >> 6))
                encoded.append(0x80 | (byte & 0x3F))
            }
        }
        return makeString(utf8: encoded)
    }
}

extension String {
    /// Equality of the exact UTF-8 bytes (Swift's `==` is Unicode canonical
    /// equivalence, which Python's attribute and key lookups are not).
    func bytesEqual(_ other: String) -> Bool { ExactString.bytesEqual(self, other) }

    /// Whether the UTF-8 bytes end with those of `suffix` (Swift's `hasSuffix` compares characters).
    func utf8HasSuffix(_ suffix: String) -> Bool {
        let bytes = Array(utf8), tail = Array(suffix.utf8)
        return bytes.count >= tail.count && Array(bytes[(bytes.count - tail.count)...]) == tail
    }
}
