/// Reads a pickle stream opcode by opcode without executing anything.
///
/// It keeps a symbolic stack and memo (strings, globals, marks, everything
/// else as an opaque value) so that STACK_GLOBAL can be resolved even when
/// its module and name come from the memo (BINGET/LONG_BINGET/GET after
/// MEMOIZE/PUT/BINPUT/LONG_BINPUT), and so that any stack misuse the real
/// unpickler would reject is rejected here too. Every opcode of protocols
/// 0-5 is decoded with its exact argument size, so the parse never desyncs;
/// an unknown opcode, a truncated argument, a bad line argument or a missing
/// memo key ends the stream as malformed (fail closed).
///
/// The parser is iterative (no recursion) and bounded by `ScanLimits`.
struct PickleScanner {
    /// The outcome of scanning one stream.
    struct Result {
        /// Highest protocol declared by PROTO.
        var pickleProtocol: Int?
        /// Opcodes read.
        var opcodeCount = 0
        /// Globals in first-import order.
        var globals: [ImportedGlobal] = []
        /// Offset (relative to the buffer) just past STOP, when complete.
        var end: Int?
        /// Findings about this stream (globals, extension codes, malformation).
        var findings: [ScanFinding] = []
        /// Whether joblib's inline array layout was followed (raw array bytes skipped).
        var followedJoblibLayout = false
    }

    private enum Value {
        case mark
        case string(String)
        case global(String, String)
        case int(Int)
        case none
        /// Containers are indices into per-stream arenas, never nested values,
        /// so no chain of references can build up (releasing a million-deep
        /// chain would overflow the call stack) and dicts keep Python's
        /// reference semantics (SETITEMS through a memo copy mutates the same dict).
        case tuple(Int)
        case dict(Int)
        /// An instance built from a known class (NEWOBJ, REDUCE, INST, OBJ).
        case object(Int)
        case other
    }

    private struct ObjectRecord {
        let module: String, name: String
        let args: [Value]
        var attributes: [String: Value] = [:]
        var state: Value?

        var isArrayWrapper: Bool {
            name == "NumpyArrayWrapper" && PickleScanner.joblibModules.contains(module)
        }
    }

    /// Modules that define joblib's NumpyArrayWrapper.
    static let joblibModules: Set<String> = ["joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle"]

    private struct Malformed: Error {
        let offset: Int
        let message: String
        let kind: FindingKind
        init(_ offset: Int, _ message: String, kind: FindingKind = .malformedPickle) {
            self.offset = offset
            self.message = message
            self.kind = kind
        }
    }

    let bytes: [UInt8]
    let location: String
    let limits: ScanLimits
    /// Follow joblib's layout: after BUILD of a NumpyArrayWrapper, the array's
    /// raw bytes (or a nested pickle for object arrays) sit inline in the stream.
    let joblib: Bool

    /// Scans the stream that starts at `start` in `bytes`.
    static func scan(_ bytes: [UInt8], from start: Int = 0, location: String, limits: ScanLimits, joblib: Bool = true) -> Result {
        PickleScanner(bytes: bytes, location: location, limits: limits, joblib: joblib).run(from: start)
    }

    private func run(from start: Int) -> Result {
        var result = Result()
        var globalIndex: [String: Int] = [:]
        var stack: [Value] = []
        var memo: [Int: Value] = [:]
        var position = start
        var opcodeStart = start

        var importsArrayWrapper = false
        func record(_ module: String, _ name: String, opcode: String) {
            if name == "NumpyArrayWrapper", PickleScanner.joblibModules.contains(module) { importsArrayWrapper = true }
            let key = "\(module)\u{0}\(name)"
            if let index = globalIndex[key] {
                result.globals[index].count += 1
                return
            }
            let classification = GlobalClassifier.classify(module: module, name: name)
            globalIndex[key] = result.globals.count
            result.globals.append(ImportedGlobal(module: module, name: name, classification: classification, count: 1))
            let qualified = "\(module).\(name)"
            switch classification {
            case .safe: break
            case .dangerous:
                result.findings.append(ScanFinding(severity: .dangerous, kind: .dangerousGlobal, location: location,
                                                   offset: opcodeStart, global: qualified,
                                                   message: "imports \(qualified) (\(opcode)), which can run code or reach the system when loaded"))
            case .unknown:
                result.findings.append(ScanFinding(severity: .suspicious, kind: .unknownGlobal, location: location,
                                                   offset: opcodeStart, global: qualified,
                                                   message: "imports \(qualified) (\(opcode)), which is not on the allowlist"))
            }
        }

        func need(_ count: Int) throws -> Int {
            guard count >= 0, count <= bytes.count - position else {
                throw Malformed(opcodeStart, "stream is truncated (argument of \(count) bytes runs past the end)")
            }
            let at = position
            position += count
            return at
        }
        func uint(_ count: Int) throws -> UInt64 {
            let at = try need(count)
            var value: UInt64 = 0
            for i in (0..<count).reversed() { value = value << 8 | UInt64(bytes[at + i]) }
            return value
        }
        func length(_ count: Int, signed: Bool = false) throws -> Int {
            let raw = try uint(count)
            if signed, count == 4, raw & 0x8000_0000 != 0 { throw Malformed(opcodeStart, "negative length") }
            guard raw <= UInt64(bytes.count - position) else {
                throw Malformed(opcodeStart, "stream is truncated (length \(raw) runs past the end)")
            }
            return Int(raw)
        }
        func line() throws -> [UInt8] {
            var end = position
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            guard end < bytes.count else { throw Malformed(opcodeStart, "stream is truncated (line argument has no newline)") }
            let text = Array(bytes[position..<end])
            position = end + 1
            return text
        }
        func utf8(_ raw: some Collection<UInt8>) throws -> String {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw Malformed(opcodeStart, "invalid UTF-8 in a text argument")
            }
            return text
        }
        func decimal(_ raw: [UInt8], allowLongSuffix: Bool = false) throws -> Int? {
            var text = try utf8(raw).trimmingSpaces()
            if allowLongSuffix, text.hasSuffix("L") { text.removeLast() }
            if text.isEmpty { throw Malformed(opcodeStart, "empty numeric argument") }
            let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw Malformed(opcodeStart, "invalid numeric argument \"\(text.prefix(40))\"")
            }
            return Int(text)
        }
        func memoIndex(_ raw: [UInt8]) throws -> Int {
            guard let value = try decimal(raw), value >= 0 else { throw Malformed(opcodeStart, "invalid memo index") }
            return value
        }
        func push(_ value: Value) throws {
            guard stack.count < limits.maxStackDepth else {
                throw Malformed(opcodeStart, "stack grows beyond \(limits.maxStackDepth) entries", kind: .resourceLimit)
            }
            stack.append(value)
        }
        func pop() throws -> Value {
            guard let value = stack.popLast() else { throw Malformed(opcodeStart, "stack underflow") }
            return value
        }
        func popValue() throws -> Value {
            let value = try pop()
            if case .mark = value { throw Malformed(opcodeStart, "unexpected MARK on the stack") }
            return value
        }
        func requireTop() throws {
            guard let top = stack.last else { throw Malformed(opcodeStart, "stack underflow") }
            if case .mark = top { throw Malformed(opcodeStart, "unexpected MARK on the stack") }
        }
        /// Pops everything above the topmost MARK and the MARK; returns the count of items.
        func popToMark() throws -> [Value] {
            guard let markIndex = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
                throw Malformed(opcodeStart, "no MARK on the stack")
            }
            let items = Array(stack[(markIndex + 1)...])
            stack.removeSubrange(markIndex...)
            return items
        }
        func memoize(_ index: Int) throws {
            guard let top = stack.last else { throw Malformed(opcodeStart, "memoizing with an empty stack") }
            if case .mark = top { throw Malformed(opcodeStart, "memoizing a MARK") }
            if memo[index] == nil, memo.count >= limits.maxMemoEntries {
                throw Malformed(opcodeStart, "memo grows beyond \(limits.maxMemoEntries) entries", kind: .resourceLimit)
            }
            memo[index] = top
        }
        func fetch(_ index: Int) throws {
            guard let value = memo[index] else { throw Malformed(opcodeStart, "memo key \(index) is not defined") }
            try push(value)
        }
        func latin1(_ raw: some Collection<UInt8>) -> String {
            String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))
        }
        var tuples: [[Value]] = [], dicts: [[(Value, Value)]] = [], objects: [ObjectRecord] = []
        var trackedSize = 0
        /// Whether another container may be tracked (bounded like the memo).
        var trackingExhausted = false
        func track(_ size: Int) -> Bool {
            trackedSize += size + 1
            if trackedSize > limits.maxMemoEntries * 4 { trackingExhausted = true }
            return !trackingExhausted
        }
        func makeTuple(_ items: [Value]) -> Value {
            guard track(items.count) else { return .other }
            tuples.append(items)
            return .tuple(tuples.count - 1)
        }
        func makeDict(_ items: [(Value, Value)]) -> Value {
            guard track(items.count * 2) else { return .other }
            dicts.append(items)
            return .dict(dicts.count - 1)
        }
        func makeObject(_ module: String, _ name: String, _ args: [Value]) -> Value {
            guard track(args.count) else { return .other }
            objects.append(ObjectRecord(module: module, name: name, args: args))
            return .object(objects.count - 1)
        }
        func pairs(_ items: [Value]) -> [(Value, Value)] {
            stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
        }
        /// What calling `callable(*args)` yields, as far as the scanner tracks it.
        func instance(of callable: Value, args: Value, isClass: Bool = false) -> Value {
            guard case .global(let module, let name) = callable else { return .other }
            let argList: [Value]
            if case .tuple(let index) = args { argList = tuples[index] } else { argList = [] }
            if !isClass, ["copyreg", "copy_reg"].contains(module), ["_reconstructor", "__newobj__", "__newobj_ex__"].contains(name) {
                if case .global(let m, let n)? = argList.first { return makeObject(m, n, Array(argList.dropFirst())) }
                return .other
            }
            return makeObject(module, name, argList)
        }
        /// BUILD: records attributes/state, and follows joblib's inline array data.
        func build(_ state: Value) throws {
            let top = stack[stack.count - 1]
            if joblib && importsArrayWrapper && trackingExhausted {
                throw Malformed(opcodeStart, "too many values to track in a stream that uses joblib's NumpyArrayWrapper", kind: .resourceLimit)
            }
            guard case .object(let objectIndex) = top else {
                if joblib && importsArrayWrapper {
                    throw Malformed(opcodeStart, "BUILD on a value the scanner cannot track in a stream that uses joblib's NumpyArrayWrapper; the data layout cannot be followed safely")
                }
                return
            }
            if case .dict(let dictIndex) = state {
                for (key, value) in dicts[dictIndex] { if case .string(let k) = key { objects[objectIndex].attributes[k] = value } }
            } else {
                objects[objectIndex].state = state
            }
            guard joblib, objects[objectIndex].isArrayWrapper else { return }
            guard case .dict = state else { throw Malformed(opcodeStart, "joblib NumpyArrayWrapper state is not a dict") }
            let layout = try arrayLayout(objects[objectIndex])
            result.followedJoblibLayout = true
            if layout.hasObjects {
                // A nested pickle stream with its own stack and memo (plain pickle semantics).
                let nested = PickleScanner.scan(bytes, from: position, location: location, limits: limits, joblib: false)
                result.opcodeCount += nested.opcodeCount
                for global in nested.globals {
                    let key = "\(global.module)\u{0}\(global.name)"
                    if let index = globalIndex[key] { result.globals[index].count += global.count; continue }
                    globalIndex[key] = result.globals.count
                    result.globals.append(global)
                }
                result.findings.append(contentsOf: nested.findings)
                guard let end = nested.end else { throw Malformed(position, "nested object-array pickle is incomplete") }
                position = end
            } else {
                if layout.aligned {
                    let padding = Int(try uint(1))
                    _ = try need(padding)
                }
                guard layout.byteCount <= UInt64(bytes.count - position) else {
                    throw Malformed(opcodeStart, "joblib array data (\(layout.byteCount) bytes) runs past the end of the stream")
                }
                position += Int(layout.byteCount)
            }
            stack[stack.count - 1] = .other
        }
        /// Shape, dtype and alignment of a joblib array, exactly as joblib's read_array uses them.
        func arrayLayout(_ box: ObjectRecord) throws -> (hasObjects: Bool, aligned: Bool, byteCount: UInt64) {
            let failure = Malformed(opcodeStart, "joblib NumpyArrayWrapper whose shape/dtype the scanner cannot evaluate exactly")
            guard case .object(let dtypeIndex)? = box.attributes["dtype"] else { throw failure }
            let dtype = objects[dtypeIndex]
            guard dtype.module.hasPrefix("numpy"), dtype.name == "dtype",
                  case .string(let code)? = dtype.args.first else { throw failure }
            let typeCode = code.drop { "<>|=".contains($0) }
            guard let kind = typeCode.first else { throw failure }
            let aligned: Bool
            switch box.attributes["numpy_array_alignment_bytes"] {
            case nil, .none?: aligned = false
            case .int?: aligned = true
            default: throw failure
            }
            if kind == "O" { return (true, aligned, 0) }
            var stateFields: [Value] = []
            if case .tuple(let fieldsIndex)? = dtype.state { stateFields = tuples[fieldsIndex] }
            // (version, byteorder, subarray, names, fields, elsize, alignment, flags): sub-arrays and records are not modelled.
            if stateFields.count >= 5 {
                for index in 2...4 { guard case .none = stateFields[index] else { throw failure } }
            }
            var itemSize: UInt64
            if "SUV".contains(kind), stateFields.count >= 6, case .int(let elsize) = stateFields[5], elsize > 0 {
                itemSize = UInt64(elsize)
            } else if "biufcmM".contains(kind), let size = UInt64(typeCode.dropFirst().prefix { $0.isNumber }), size > 0 {
                itemSize = size
            } else {
                throw failure
            }
            var count: UInt64 = 1
            guard case .tuple(let shapeIndex)? = box.attributes["shape"] else { throw failure }
            let shape = tuples[shapeIndex]
            for dimension in shape {
                guard case .int(let value) = dimension, value >= 0 else { throw failure }
                let (product, overflow) = count.multipliedReportingOverflow(by: UInt64(value))
                guard !overflow, product <= UInt64(Int64.max) else { throw failure }
                count = product
            }
            let (total, overflow) = count.multipliedReportingOverflow(by: itemSize)
            guard !overflow else { throw failure }
            itemSize = total
            return (false, aligned, itemSize)
        }

        do {
            while true {
                guard position < bytes.count else {
                    throw Malformed(position, "stream is truncated (no STOP opcode)")
                }
                guard result.opcodeCount < limits.maxOpcodes else {
                    throw Malformed(position, "more than \(limits.maxOpcodes) opcodes", kind: .resourceLimit)
                }
                opcodeStart = position
                let opcode = bytes[position]
                position += 1
                result.opcodeCount += 1
                switch opcode {
                // Protocol 0 and 1.
                case UInt8(ascii: "("): try push(.mark)                                   // MARK
                case UInt8(ascii: "."):                                                     // STOP
                    _ = try popValue()
                    result.end = position
                    return result
                case UInt8(ascii: "0"): _ = try pop()                                       // POP
                case UInt8(ascii: "1"): _ = try popToMark()                                 // POP_MARK
                case UInt8(ascii: "2"):                                                     // DUP
                    try requireTop()
                    try push(stack[stack.count - 1])
                case UInt8(ascii: "F"):                                                     // FLOAT
                    let text = try utf8(try line()).trimmingSpaces()
                    guard Double(text) != nil || ["nan", "inf", "-inf"].contains(text.lowercased()) else {
                        throw Malformed(opcodeStart, "invalid FLOAT argument")
                    }
                    try push(.other)
                case UInt8(ascii: "I"):                                                     // INT
                    let raw = try line()
                    let value = try decimal(raw)
                    try push(value.map { .int($0) } ?? .other)
                case UInt8(ascii: "J"): try push(.int(Int(Int32(truncatingIfNeeded: try uint(4))))) // BININT
                case UInt8(ascii: "K"): try push(.int(Int(try uint(1))))                    // BININT1
                case UInt8(ascii: "L"): _ = try decimal(try line(), allowLongSuffix: true); try push(.other) // LONG
                case UInt8(ascii: "M"): try push(.int(Int(try uint(2))))                    // BININT2
                case UInt8(ascii: "N"): try push(.none)                                     // NONE
                case UInt8(ascii: "P"): _ = try utf8(try line()); try push(.other)          // PERSID
                case UInt8(ascii: "Q"): _ = try popValue(); try push(.other)                // BINPERSID
                case UInt8(ascii: "R"):                                                     // REDUCE
                    let args = try popValue(), callable = try popValue()
                    try push(instance(of: callable, args: args))
                case UInt8(ascii: "S"):                                                     // STRING
                    let raw = try line()
                    guard raw.count >= 2, raw.first == raw.last, raw.first == UInt8(ascii: "'") || raw.first == UInt8(ascii: "\"") else {
                        throw Malformed(opcodeStart, "STRING argument is not quoted")
                    }
                    guard let decoded = PickleText.escapeDecode(raw.dropFirst().dropLast()) else {
                        throw Malformed(opcodeStart, "invalid escape in STRING argument")
                    }
                    try push(.string(latin1(decoded)))
                case UInt8(ascii: "T"): let n = try length(4, signed: true); try push(.string(latin1(bytes[try need(n)..<position]))) // BINSTRING
                case UInt8(ascii: "U"): let n = try length(1); try push(.string(latin1(bytes[try need(n)..<position])))          // SHORT_BINSTRING
                case UInt8(ascii: "V"):                                                     // UNICODE
                    guard let text = PickleText.rawUnicodeEscapeDecode(try line()) else {
                        throw Malformed(opcodeStart, "invalid raw-unicode-escape in UNICODE argument")
                    }
                    try push(.string(text))
                case UInt8(ascii: "X"): let n = try length(4); try push(.string(try utf8(bytes[try need(n)..<position]))) // BINUNICODE
                case UInt8(ascii: "a"): _ = try popValue(); try requireTop()               // APPEND
                case UInt8(ascii: "b"):                                                     // BUILD
                    let state = try popValue()
                    try requireTop()
                    try build(state)
                case UInt8(ascii: "c"):                                                     // GLOBAL
                    let module = try utf8(try line()), name = try utf8(try line())
                    record(module, name, opcode: "GLOBAL")
                    try push(.global(module, name))
                case UInt8(ascii: "d"):                                                     // DICT
                    let items = try popToMark()
                    guard items.count % 2 == 0 else { throw Malformed(opcodeStart, "DICT with an odd number of items") }
                    try push(makeDict(pairs(items)))
                case UInt8(ascii: "}"): try push(makeDict([]))                             // EMPTY_DICT
                case UInt8(ascii: ")"): try push(makeTuple([]))                            // EMPTY_TUPLE
                case UInt8(ascii: "]"): try push(.other)                                   // EMPTY_LIST
                case UInt8(ascii: "e"): _ = try popToMark(); try requireTop()              // APPENDS
                case UInt8(ascii: "g"): try fetch(try memoIndex(try line()))               // GET
                case UInt8(ascii: "h"): try fetch(Int(try uint(1)))                        // BINGET
                case UInt8(ascii: "i"):                                                     // INST
                    let module = try utf8(try line()), name = try utf8(try line())
                    record(module, name, opcode: "INST")
                    let args = try popToMark()
                    try push(makeObject(module, name, args))
                case UInt8(ascii: "j"): try fetch(Int(try uint(4)))                        // LONG_BINGET
                case UInt8(ascii: "l"): _ = try popToMark(); try push(.other)              // LIST
                case UInt8(ascii: "t"): try push(makeTuple(try popToMark()))               // TUPLE
                case UInt8(ascii: "o"):                                                     // OBJ
                    let items = try popToMark()
                    guard let cls = items.first else { throw Malformed(opcodeStart, "OBJ without a class") }
                    try push(instance(of: cls, args: makeTuple(Array(items.dropFirst())), isClass: true))
                case UInt8(ascii: "p"): try memoize(try memoIndex(try line()))             // PUT
                case UInt8(ascii: "q"): try memoize(Int(try uint(1)))                      // BINPUT
                case UInt8(ascii: "r"): try memoize(Int(try uint(4)))                      // LONG_BINPUT
                case UInt8(ascii: "s"):                                                     // SETITEM
                    let value = try popValue(), key = try popValue()
                    try requireTop()
                    if case .dict(let index) = stack[stack.count - 1], track(2) { dicts[index].append((key, value)) }
                case UInt8(ascii: "u"):                                                     // SETITEMS
                    let items = try popToMark()
                    guard items.count % 2 == 0 else { throw Malformed(opcodeStart, "SETITEMS with an odd number of items") }
                    try requireTop()
                    if case .dict(let index) = stack[stack.count - 1], track(items.count) { dicts[index].append(contentsOf: pairs(items)) }
                case UInt8(ascii: "G"): _ = try need(8); try push(.other)                  // BINFLOAT
                // Protocol 2.
                case 0x80:                                                                  // PROTO
                    let version = Int(try uint(1))
                    guard version <= 5 else { throw Malformed(opcodeStart, "unsupported pickle protocol \(version)") }
                    result.pickleProtocol = max(result.pickleProtocol ?? 0, version)
                case 0x81:                                                                  // NEWOBJ
                    let args = try popValue(), cls = try popValue()
                    try push(instance(of: cls, args: args, isClass: true))
                case 0x82, 0x83, 0x84:                                                      // EXT1, EXT2, EXT4
                    let code = try uint(opcode == 0x82 ? 1 : opcode == 0x83 ? 2 : 4)
                    result.findings.append(ScanFinding(
                        severity: .suspicious, kind: .extensionCode, location: location, offset: opcodeStart,
                        message: "imports a global through the copyreg extension registry (code \(code)); what it names cannot be known statically"))
                    try push(.other)
                case 0x85: let a = try popValue(); try push(makeTuple([a]))                // TUPLE1
                case 0x86: let b = try popValue(), a = try popValue(); try push(makeTuple([a, b])) // TUPLE2
                case 0x87: let c = try popValue(), b = try popValue(), a = try popValue(); try push(makeTuple([a, b, c])) // TUPLE3
                case 0x88, 0x89: try push(.other)                                          // NEWTRUE, NEWFALSE
                case 0x8A: let n = try length(1); _ = try need(n); try push(.other)        // LONG1
                case 0x8B: let n = try length(4, signed: true); _ = try need(n); try push(.other) // LONG4
                // Protocol 3.
                case UInt8(ascii: "B"): let n = try length(4); _ = try need(n); try push(.other) // BINBYTES
                case UInt8(ascii: "C"): let n = try length(1); _ = try need(n); try push(.other) // SHORT_BINBYTES
                // Protocol 4.
                case 0x8C: let n = try length(1); try push(.string(try utf8(bytes[try need(n)..<position]))) // SHORT_BINUNICODE
                case 0x8D: let n = try length(8); try push(.string(try utf8(bytes[try need(n)..<position]))) // BINUNICODE8
                case 0x8E: let n = try length(8); _ = try need(n); try push(.other)        // BINBYTES8
                case 0x8F: try push(.other)                                                // EMPTY_SET
                case 0x90: _ = try popToMark(); try requireTop()                           // ADDITEMS
                case 0x91: _ = try popToMark(); try push(.other)                           // FROZENSET
                case 0x92:                                                                  // NEWOBJ_EX
                    _ = try popValue()
                    let args = try popValue(), cls = try popValue()
                    try push(instance(of: cls, args: args, isClass: true))
                case 0x93:                                                                  // STACK_GLOBAL
                    let name = try popValue(), module = try popValue()
                    if case .string(let m) = module, case .string(let n) = name {
                        record(m, n, opcode: "STACK_GLOBAL")
                        try push(.global(m, n))
                    } else {
                        result.findings.append(ScanFinding(
                            severity: .suspicious, kind: .unresolvedGlobal, location: location, offset: opcodeStart,
                            message: "STACK_GLOBAL whose module and name are not constant strings; the import cannot be resolved statically"))
                        try push(.other)
                    }
                case 0x94: try memoize(memo.count)                                         // MEMOIZE
                case 0x95: _ = try length(8)                                               // FRAME (a length that fits the rest)
                // Protocol 5.
                case 0x96: let n = try length(8); _ = try need(n); try push(.other)        // BYTEARRAY8
                case 0x97: try push(.other)                                                // NEXT_BUFFER
                case 0x98: try requireTop()                                                // READONLY_BUFFER
                default:
                    throw Malformed(opcodeStart, "unknown opcode 0x\(String(opcode, radix: 16, uppercase: true))")
                }
            }
        } catch let error as Malformed {
            result.findings.append(ScanFinding(
                severity: .error, kind: error.kind, location: location, offset: error.offset,
                message: "cannot parse the pickle stream at offset \(error.offset): \(error.message)"))
            return result
        } catch {
            result.findings.append(ScanFinding(severity: .error, kind: .malformedPickle, location: location,
                                               message: "cannot parse the pickle stream: \(error)"))
            return result
        }
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\r" || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\r" || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
