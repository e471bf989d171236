/// Reads a pickle stream opcode by opcode without executing anything.
///
/// It keeps a symbolic stack and memo (`PickleValues`) so that STACK_GLOBAL
/// can be resolved even when its module and name come from the memo
/// (BINGET/LONG_BINGET/GET after MEMOIZE/PUT/BINPUT/LONG_BINPUT), so that
/// joblib's array wrappers and numpy dtypes can be evaluated, and so that any
/// stack misuse the real unpickler would reject is rejected here too. Every
/// opcode of protocols 0-5 is decoded with its exact argument size, so the
/// parse never desyncs; an unknown opcode, a truncated argument, a bad line
/// argument or a missing memo key ends the stream as malformed (fail closed).
/// Imports seen before such an error are still reported: the real unpickler
/// runs everything before the byte it fails on.
///
/// The parser is iterative (no recursion except one level per nested joblib
/// object array, bounded by the stream length) and bounded by `ScanLimits`.
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
        /// Whether the stream imports one of joblib's array wrappers (so joblib and pickle may read it differently).
        var importsJoblibWrapper = false
        /// Files the stream makes joblib load (`NDArrayWrapper` file names, as written).
        var references: [Reference] = []
        /// Whether the parse stopped because the input ended (rather than on an invalid byte).
        var ranOutOfInput = false
        /// The value STOP returned, as far as it is a constant (for layouts
        /// that depend on it, such as legacy PyTorch tar members).
        var value: PickleLiteral?
    }

    /// A constant value a stream returns.
    indirect enum PickleLiteral: Equatable {
        case int(Int)
        case string(String)
        case global(String, String)
        case tuple([PickleLiteral])
        case other
    }

    /// A file named by a joblib `NDArrayWrapper`: `joblib.load` runs
    /// `np.load(os.path.join(dirname(pickle file), name), allow_pickle=True)`.
    struct Reference: Equatable {
        /// The name exactly as the pickle gives it.
        let name: String
        /// The BUILD opcode's offset.
        let offset: Int
    }

    struct Malformed: Error {
        let offset: Int
        let message: String
        let kind: FindingKind
        /// The input ended before the stream did.
        let truncated: Bool
        init(_ offset: Int, _ message: String, kind: FindingKind = .malformedPickle, truncated: Bool = false) {
            self.offset = offset
            self.message = message
            self.kind = kind
            self.truncated = truncated
        }
    }

    /// Scans the stream that starts at `start` in `bytes`.
    /// - `joblib`: follow joblib's `NumpyUnpickler` (array data inline after a
    ///   wrapper's BUILD, files named by `NDArrayWrapper`).
    /// - `framedReader`: the stream is read by Python's pure-Python unpickler
    ///   (joblib) or from an unbuffered file, which leave the file at the end of
    ///   the current frame; a STOP before the frame's end is then malformed,
    ///   because whatever the caller reads next starts after the frame, not after STOP.
    static func scan(_ bytes: ByteSource, from start: Int = 0, location: String, limits: ScanLimits,
                     joblib: Bool = true, framedReader: Bool = false) -> Result {
        var machine = PickleMachine(bytes: bytes, start: start, location: location, limits: limits,
                                    joblib: joblib, framedReader: framedReader)
        machine.run()
        return machine.result
    }

    /// `scan` of bytes already in memory.
    static func scan(_ bytes: [UInt8], from start: Int = 0, location: String, limits: ScanLimits,
                     joblib: Bool = true, framedReader: Bool = false) -> Result {
        scan(ByteSource(bytes), from: start, location: location, limits: limits, joblib: joblib, framedReader: framedReader)
    }
}

/// The mutable state of one scan and the opcode loop.
struct PickleMachine {
    typealias Value = PickleValues.Value
    typealias Malformed = PickleScanner.Malformed

    let bytes: ByteSource
    let location: String
    let limits: ScanLimits
    let joblib: Bool
    let framedReader: Bool

    var result = PickleScanner.Result()
    var values: PickleValues
    var stack: [Value] = []
    var memo = PickleMemo()
    var position: Int
    var opcodeStart: Int
    /// Where the current protocol-4 frame ends (nil outside frames).
    var frameEnd: Int?
    var globalIndex: [String: Int] = [:]
    /// Whether the stream has imported one of joblib's array wrappers.
    var importsArrayWrapper = false
    /// Findings not listed because the stream already has `maxFindings`.
    var droppedFindings = 0
    /// Reference names already recorded (exact bytes).
    var referenceNames = Set<[UInt8]>()
    /// String bytes kept as values so far.
    var keptStringBytes = 0

    /// Most findings listed for one stream (a hostile stream can repeat an
    /// opcode millions of times); the rest are counted in one resource-limit finding.
    static let maxFindings = 1_000
    /// Most distinct file references recorded for one stream.
    static let maxReferences = 10_000

    /// Dangerous findings listed so far (they have their own budget, so that
    /// thousands of lesser findings cannot push them out of the report).
    var dangerousListed = 0

    /// Lists `finding`, unless the stream already has `maxFindings` of its kind of severity.
    mutating func note(_ finding: ScanFinding) {
        if finding.severity == .dangerous {
            guard dangerousListed < PickleMachine.maxFindings else {
                droppedFindings += 1
                return
            }
            dangerousListed += 1
        } else {
            guard result.findings.count - dangerousListed < PickleMachine.maxFindings else {
                droppedFindings += 1
                return
            }
        }
        result.findings.append(finding)
    }

    /// Records a file reference once; past `maxReferences` the stream gets a resource-limit finding.
    mutating func noteReference(_ name: String, offset: Int) {
        let key = Array(name.utf8)
        guard !referenceNames.contains(key) else { return }
        guard referenceNames.count < PickleMachine.maxReferences else {
            droppedFindings += 1
            return
        }
        referenceNames.insert(key)
        result.references.append(PickleScanner.Reference(name: name, offset: offset))
    }

    init(bytes: ByteSource, start: Int, location: String, limits: ScanLimits, joblib: Bool, framedReader: Bool) {
        self.bytes = bytes
        self.location = location
        self.limits = limits
        self.joblib = joblib
        self.framedReader = framedReader
        self.position = start
        self.opcodeStart = start
        self.values = PickleValues(budget: limits.maxMemoEntries * 4)
        // Room for a small pickle's stack and memo from the start: growing
        // them step by step was a tenth of scanning a small file (callgrind).
        stack.reserveCapacity(64)
        memo.reserveCapacity(64)
        // And for its strings: at most the stream's own size (a string's
        // bytes are a part of the stream), 64 KiB at first.
        values.reserveStrings(bytes: min(bytes.count, 1 << 16), count: min(bytes.count / 2, 1 << 12))
    }

    // MARK: imports

    /// Records an import of `module.name` and returns what is known about it.
    @discardableResult
    mutating func record(_ module: String, _ name: String, opcode: String) throws -> GlobalFacts {
        let facts = GlobalFacts.of(module: module, name: name)
        if facts.isJoblibWrapper {
            importsArrayWrapper = true
            result.importsJoblibWrapper = true
        }
        let key = "\(module)\u{0}\(name)"
        if let index = globalIndex[key], result.globals[index].module.bytesEqual(module), result.globals[index].name.bytesEqual(name) {
            result.globals[index].count += 1
            return facts
        }
        guard result.globals.count < limits.maxMemoEntries else {
            throw Malformed(opcodeStart, "more than \(limits.maxMemoEntries) distinct globals", kind: .resourceLimit)
        }
        let classification = facts.classification
        globalIndex[key] = result.globals.count
        result.globals.append(ImportedGlobal(module: module, name: name, classification: classification, count: 1))
        let qualified = "\(module).\(name)"
        switch classification {
        case .safe: break
        case .dangerous:
            note(ScanFinding(severity: .dangerous, kind: .dangerousGlobal, location: location,
                                               offset: opcodeStart, global: qualified,
                                               message: "imports \(qualified) (\(opcode)), which can run code or reach the system when loaded"))
        case .unknown:
            note(ScanFinding(severity: .suspicious, kind: .unknownGlobal, location: location,
                                               offset: opcodeStart, global: qualified,
                                               message: "imports \(qualified) (\(opcode)), which is not on the allowlist of globals known to be safe"))
        }
        return facts
    }

    /// Merges the globals and findings of a nested stream into this one.
    mutating func absorb(_ nested: PickleScanner.Result) {
        result.opcodeCount += nested.opcodeCount
        for global in nested.globals {
            let key = "\(global.module)\u{0}\(global.name)"
            if let index = globalIndex[key], result.globals[index].module.bytesEqual(global.module),
               result.globals[index].name.bytesEqual(global.name) {
                result.globals[index].count += global.count
                continue
            }
            globalIndex[key] = result.globals.count
            result.globals.append(global)
        }
        for finding in nested.findings { note(finding) }
        for reference in nested.references { noteReference(reference.name, offset: reference.offset) }
    }

    // MARK: reading arguments

    mutating func need(_ count: Int) throws -> Int {
        guard count >= 0, count <= bytes.count - position else {
            throw Malformed(opcodeStart, "stream is truncated (argument of \(count) bytes runs past the end)", truncated: true)
        }
        let at = position
        position += count
        return at
    }

    /// The next `count` bytes of the stream (reading them first, so no call
    /// borrows the machine while it advances).
    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        let at = try need(count)
        return try bytes.slice(at, count)
    }

    /// Longest string argument kept as a value; longer ones are skipped and
    /// become opaque values (anything that needs them as a string then fails closed).
    static let maxStringBytes = 1 << 16
    /// String bytes one stream may keep in all; past it, strings become opaque values.
    static let maxKeptStringBytes = 8 << 20
    /// Longest line argument (protocol 0 text) read.
    static let maxLineBytes = 8 << 20

    /// The next `count` bytes as a string argument, or nil when they are
    /// skipped (longer than `maxStringBytes` or past the stream's string budget).
    mutating func takeString(_ count: Int) throws -> ArraySlice<UInt8>? {
        guard count <= PickleMachine.maxStringBytes, keptStringBytes + count <= PickleMachine.maxKeptStringBytes else {
            _ = try need(count)
            return nil
        }
        keptStringBytes += count
        return try take(count)
    }

    mutating func uint(_ count: Int) throws -> UInt64 {
        let at = try need(count)
        var value: UInt64 = 0
        for i in (0..<count).reversed() { value = value << 8 | UInt64(try bytes.byte(at + i)) }
        return value
    }

    mutating func length(_ count: Int, signed: Bool = false) throws -> Int {
        let raw = try uint(count)
        if signed, count == 4, raw & 0x8000_0000 != 0 { throw Malformed(opcodeStart, "negative length") }
        guard raw <= UInt64(bytes.count - position) else {
            throw Malformed(opcodeStart, "stream is truncated (length \(raw) runs past the end)", truncated: true)
        }
        return Int(raw)
    }

    mutating func line() throws -> ArraySlice<UInt8> {
        guard let end = try bytes.firstIndex(of: 0x0A, from: position, limit: PickleMachine.maxLineBytes + 1) else {
            if bytes.count - position > PickleMachine.maxLineBytes {
                throw Malformed(opcodeStart, "line argument longer than \(PickleMachine.maxLineBytes) bytes", kind: .resourceLimit)
            }
            throw Malformed(opcodeStart, "stream is truncated (line argument has no newline)", truncated: true)
        }
        let text = try bytes.slice(position, end - position)
        position = end + 1
        return text
    }

    func utf8(_ raw: some Collection<UInt8>) throws -> String {
        // ASCII is valid UTF-8 as it is, and decoding it is much cheaper than
        // the generic validating initialiser (about 900 instructions for a
        // three-letter name, measured with callgrind).
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw Malformed(opcodeStart, "invalid UTF-8 in a text argument")
        }
        return text
    }

    /// An `INT` argument as CPython reads it (``PythonInteger``): nil for a
    /// boolean or a value beyond `Int`.
    func intArgument(_ line: ArraySlice<UInt8>) throws -> Int? {
        if line.elementsEqual("00".utf8) || line.elementsEqual("01".utf8) { return nil }
        // CPython parses the line as a C string: a NUL ends the number.
        let raw = Self.cString(line)
        let value: PythonInteger.Value?
        if let viaStrtol = PythonInteger.strtol(raw), viaStrtol != .large { value = viaStrtol } else { value = PythonInteger.parse(raw, base: 0) }
        switch value {
        case let .small(n)?: return n
        case .large?: return nil
        case nil: throw Malformed(opcodeStart, "invalid INT argument \(argumentText(raw))")
        }
    }

    /// Checks a `LONG` argument as CPython reads it (a trailing `L` dropped, then `int(text, 0)`).
    func checkLongArgument(_ raw: ArraySlice<UInt8>) throws {
        let text = Self.cString(raw.last == UInt8(ascii: "L") ? raw.dropLast() : raw)
        guard PythonInteger.parse(text, base: 0) != nil else { throw Malformed(opcodeStart, "invalid LONG argument \(argumentText(raw))") }
    }

    /// The bytes before the first NUL: what CPython's C parsers (`strtol`,
    /// `PyLong_FromString`) read of a protocol-0 number argument.
    static func cString(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        raw.firstIndex(of: 0).map { raw[..<$0] } ?? raw
    }

    /// At most 40 characters of an argument, quoted, for an error message.
    func argumentText(_ raw: ArraySlice<UInt8>) -> String {
        "\"" + String(decoding: raw.prefix(40), as: UTF8.self) + "\""
    }

    /// A `PUT` or `GET` index as CPython reads it: `int(text, 10)`, then a
    /// non-negative `Py_ssize_t`.
    func memoIndex(_ line: ArraySlice<UInt8>) throws -> Int {
        let raw = Self.cString(line)
        // What picklers write: up to 18 plain decimal digits.
        if !raw.isEmpty, raw.count <= 18, raw.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) {
            return raw.reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) }
        }
        guard case let .small(value)? = PythonInteger.parse(raw, base: 10), value >= 0 else {
            throw Malformed(opcodeStart, "invalid memo index \(argumentText(raw))")
        }
        return value
    }

    /// A UTF-8 string argument as a value (opaque when it was skipped),
    /// decoded as CPython's `BINUNICODE` opcodes decode it: UTF-8 with
    /// "surrogatepass", so the 3-byte encodings of U+D800...U+DFFF are
    /// accepted (each kept as U+FFFD, which no name Python imports contains).
    mutating func stringValue(_ slice: ArraySlice<UInt8>?) throws -> Value {
        guard let slice else { return .other }
        // ASCII is valid UTF-8 as it is (what picklers write for names).
        if slice.allSatisfy({ $0 < 0x80 }) { return values.makeString(utf8: slice) }
        if String(validating: slice, as: UTF8.self) != nil { return values.makeString(utf8: slice) }
        let raw = Array(slice)   // indexed from 0 below
        var passed: [UInt8] = []
        passed.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            if raw[i] == 0xED, i + 2 < raw.count, (0xA0...0xBF).contains(raw[i + 1]), (0x80...0xBF).contains(raw[i + 2]) {
                passed += [0xEF, 0xBF, 0xBD]
                i += 3
            } else {
                passed.append(raw[i])
                i += 1
            }
        }
        guard String(validating: passed, as: UTF8.self) != nil else {
            throw Malformed(opcodeStart, "invalid UTF-8 in a text argument")
        }
        return values.makeString(utf8: passed)
    }

    /// Takes a UTF-8 string argument of `count` bytes and pushes it. One
    /// statement per step: `push(stringValue(takeString(n)))` made the
    /// compiler copy the whole machine for every string (measured with callgrind).
    mutating func pushString(_ count: Int) throws {
        // An ASCII string in the read window (what picklers write for names
        // and keys) goes from the window into the string arena in place: no
        // slice of the window (a retain and release each) and no second pass.
        if count >= 0, count <= PickleMachine.maxStringBytes, keptStringBytes + count <= PickleMachine.maxKeptStringBytes,
           count <= bytes.count - position {
            let source = bytes
            let placed = source.withWindowBytes(position, count) { buffer -> Value? in
                buffer.allSatisfy { $0 < 0x80 } ? values.makeString(utf8: buffer) : nil
            }
            if case let .some(.some(value)) = placed {
                position += count
                keptStringBytes += count
                try push(value)
                return
            }
        }
        let raw = try takeString(count)
        let value = try stringValue(raw)
        try push(value)
    }

    /// Takes a Latin-1 string argument of `count` bytes (`BINSTRING`,
    /// `SHORT_BINSTRING`) and pushes it (opaque when it was skipped).
    mutating func pushLatin1(_ count: Int) throws {
        let value: Value
        if let raw = try takeString(count) { value = values.makeString(latin1: raw) } else { value = .other }
        try push(value)
    }

    // MARK: stack and memo

    mutating func push(_ value: Value) throws {
        guard stack.count < limits.maxStackDepth else {
            throw Malformed(opcodeStart, "stack grows beyond \(limits.maxStackDepth) entries", kind: .resourceLimit)
        }
        stack.append(value)
    }

    mutating func pop() throws -> Value {
        guard let value = stack.popLast() else { throw Malformed(opcodeStart, "stack underflow") }
        return value
    }

    mutating func popValue() throws -> Value {
        let value = try pop()
        if case .mark = value { throw Malformed(opcodeStart, "unexpected MARK on the stack") }
        return value
    }

    func requireTop() throws {
        guard let top = stack.last else { throw Malformed(opcodeStart, "stack underflow") }
        if case .mark = top { throw Malformed(opcodeStart, "unexpected MARK on the stack") }
    }

    /// Pops everything above the topmost MARK and the MARK; returns the items.
    mutating func popToMark() throws -> [Value] {
        guard let markIndex = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw Malformed(opcodeStart, "no MARK on the stack")
        }
        let items = Array(stack[(markIndex + 1)...])
        stack.removeSubrange(markIndex...)
        return items
    }

    mutating func memoize(_ index: Int) throws {
        guard let top = stack.last else { throw Malformed(opcodeStart, "memoizing with an empty stack") }
        if case .mark = top { throw Malformed(opcodeStart, "memoizing a MARK") }
        if !memo.contains(index), memo.count >= limits.maxMemoEntries {
            throw Malformed(opcodeStart, "memo grows beyond \(limits.maxMemoEntries) entries", kind: .resourceLimit)
        }
        memo.set(index, top)
    }

    mutating func fetch(_ index: Int) throws {
        guard let value = memo[index] else { throw Malformed(opcodeStart, "memo key \(index) is not defined") }
        try push(value)
    }

    func pairs(_ items: [Value]) -> [(Value, Value)] {
        stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    /// `value` as a constant, up to a small nesting depth.
    func literal(_ value: Value, depth: Int) -> PickleScanner.PickleLiteral {
        switch value {
        case .int(let number): return .int(number)
        case .string(let index): return .string(values.text(index))
        case .global(let index): return .global(values.globals[index].module, values.globals[index].name)
        case .tuple(let index) where depth < 4: return .tuple(values.tuples[index].map { literal($0, depth: depth + 1) })
        default: return .other
        }
    }

    /// Whether the position is inside a frame that has bytes left.
    var insideUnfinishedFrame: Bool {
        if let frameEnd, frameEnd > position { return true }
        return false
    }

    // MARK: the loop

    mutating func run() {
        parse()
        if droppedFindings > 0 {
            result.findings.append(ScanFinding(
                severity: .error, kind: .resourceLimit, location: location,
                message: "\(droppedFindings) more findings in this stream are not listed (at most \(PickleMachine.maxFindings) are)"))
        }
    }

    private mutating func parse() {
        do {
            while true {
                guard position < bytes.count else {
                    throw Malformed(position, "stream is truncated (no STOP opcode)", truncated: true)
                }
                guard result.opcodeCount < limits.maxOpcodes else {
                    throw Malformed(position, "more than \(limits.maxOpcodes) opcodes", kind: .resourceLimit)
                }
                if let end = frameEnd, position >= end { frameEnd = nil }
                opcodeStart = position
                let opcode = try bytes.byte(position)
                position += 1
                result.opcodeCount += 1
                if opcode == UInt8(ascii: ".") {                                            // STOP
                    let top = try popValue()
                    result.value = literal(top, depth: 0)
                    if framedReader, insideUnfinishedFrame {
                        throw Malformed(opcodeStart, "STOP inside a frame that has \(frameEnd! - position) more bytes; the loader would continue after the frame, not after STOP")
                    }
                    result.end = position
                    return
                }
                try step(opcode)
            }
        } catch let error as Malformed {
            result.ranOutOfInput = error.truncated
            result.findings.append(ScanFinding(
                severity: .error, kind: error.kind, location: location, offset: error.offset,
                message: "cannot parse the pickle stream at offset \(error.offset): \(error.message)"))
        } catch {
            result.findings.append(ScanFinding(severity: .error, kind: .malformedPickle, location: location,
                                               message: "cannot parse the pickle stream: \(error)"))
        }
    }

    /// Executes one opcode (other than STOP) symbolically.
    mutating func step(_ opcode: UInt8) throws {
        switch opcode {
        // Protocol 0 and 1.
        case UInt8(ascii: "("): try push(.mark)                                           // MARK
        case UInt8(ascii: "0"): _ = try pop()                                               // POP
        case UInt8(ascii: "1"): _ = try popToMark()                                         // POP_MARK
        case UInt8(ascii: "2"):                                                             // DUP
            try requireTop()
            try push(stack[stack.count - 1])
        case UInt8(ascii: "F"):                                                             // FLOAT
            let raw = try line()
            let text = try utf8(raw).trimmingSpaces()
            guard Double(text) != nil || ["nan", "inf", "-inf"].contains(text.lowercased()) else {
                throw Malformed(opcodeStart, "invalid FLOAT argument")
            }
            try push(.other)
        case UInt8(ascii: "I"):                                                             // INT
            let raw = try line()
            let value = try intArgument(raw)
            try push(value.map { .int($0) } ?? .other)
        case UInt8(ascii: "J"): try push(.int(Int(Int32(truncatingIfNeeded: try uint(4))))) // BININT
        case UInt8(ascii: "K"): try push(.int(Int(try uint(1))))                            // BININT1
        case UInt8(ascii: "L"): let raw = try line(); try checkLongArgument(raw); try push(.other) // LONG
        case UInt8(ascii: "M"): try push(.int(Int(try uint(2))))                            // BININT2
        case UInt8(ascii: "N"): try push(.none)                                             // NONE
        case UInt8(ascii: "P"): let raw = try line(); _ = try utf8(raw); try push(.other)  // PERSID
        case UInt8(ascii: "Q"): _ = try popValue(); try push(.other)                        // BINPERSID
        case UInt8(ascii: "R"):                                                             // REDUCE
            let args = try popValue(), callable = try popValue()
            try push(values.construct(callable, args: args, how: .call))
        case UInt8(ascii: "S"):                                                             // STRING
            let raw = try line()
            guard raw.count >= 2, raw.first == raw.last, raw.first == UInt8(ascii: "'") || raw.first == UInt8(ascii: "\"") else {
                throw Malformed(opcodeStart, "STRING argument is not quoted")
            }
            guard let decoded = PickleText.escapeDecode(raw.dropFirst().dropLast()) else {
                throw Malformed(opcodeStart, "invalid escape in STRING argument")
            }
            let value = values.makeString(latin1: decoded)
            try push(value)
        case UInt8(ascii: "T"): let n = try length(4, signed: true); try pushLatin1(n)   // BINSTRING
        case UInt8(ascii: "U"): let n = try length(1); try pushLatin1(n)                 // SHORT_BINSTRING
        case UInt8(ascii: "V"):                                                             // UNICODE
            let raw = try line()
            let value: Value
            if raw.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\\") }) {
                // ASCII without a backslash decodes to itself (PickleText's fast path).
                value = values.makeString(utf8: raw)
            } else {
                guard let text = PickleText.rawUnicodeEscapeDecode(raw) else {
                    throw Malformed(opcodeStart, "invalid raw-unicode-escape in UNICODE argument")
                }
                value = values.makeString(utf8: text.utf8)
            }
            try push(value)
        case UInt8(ascii: "X"): let n = try length(4); try pushString(n)              // BINUNICODE
        case UInt8(ascii: "a"): _ = try popValue(); try requireTop()                       // APPEND
        case UInt8(ascii: "b"):                                                             // BUILD
            let state = try popValue()
            try requireTop()
            try build(state)
        case UInt8(ascii: "c"):                                                             // GLOBAL
            let moduleLine = try line(), nameLine = try line()
            let module = try utf8(moduleLine), name = try utf8(nameLine)
            let facts = try record(module, name, opcode: "GLOBAL")
            let value = values.global(module, name, facts: facts)
            try push(value)
        case UInt8(ascii: "d"):                                                             // DICT
            let items = try popToMark()
            guard items.count % 2 == 0 else { throw Malformed(opcodeStart, "DICT with an odd number of items") }
            try push(values.makeDict(pairs(items)))
        case UInt8(ascii: "}"): try push(values.makeDict([]))                              // EMPTY_DICT
        case UInt8(ascii: ")"): try push(values.makeTuple([]))                             // EMPTY_TUPLE
        case UInt8(ascii: "]"): try push(.other)                                           // EMPTY_LIST
        case UInt8(ascii: "e"): _ = try popToMark(); try requireTop()                      // APPENDS
        case UInt8(ascii: "g"): let raw = try line(); try fetch(try memoIndex(raw))        // GET
        case UInt8(ascii: "h"): try fetch(Int(try uint(1)))                                // BINGET
        case UInt8(ascii: "i"):                                                             // INST: klass(*args)
            let moduleLine = try line(), nameLine = try line()
            let module = try utf8(moduleLine), name = try utf8(nameLine)
            let facts = try record(module, name, opcode: "INST")
            let args = values.makeTuple(try popToMark())
            let callable = values.global(module, name, facts: facts)
            try push(values.construct(callable, args: args, how: .call))
        case UInt8(ascii: "j"): try fetch(Int(try uint(4)))                                // LONG_BINGET
        case UInt8(ascii: "l"): _ = try popToMark(); try push(.other)                      // LIST
        case UInt8(ascii: "t"): try push(values.makeTuple(try popToMark()))                // TUPLE
        case UInt8(ascii: "o"):                                                             // OBJ: cls(*args)
            let items = try popToMark()
            guard let cls = items.first else { throw Malformed(opcodeStart, "OBJ without a class") }
            try push(values.construct(cls, args: values.makeTuple(Array(items.dropFirst())), how: .call))
        case UInt8(ascii: "p"): let raw = try line(); try memoize(try memoIndex(raw))      // PUT
        case UInt8(ascii: "q"): try memoize(Int(try uint(1)))                              // BINPUT
        case UInt8(ascii: "r"): try memoize(Int(try uint(4)))                              // LONG_BINPUT
        case UInt8(ascii: "s"):                                                             // SETITEM
            let value = try popValue(), key = try popValue()
            try requireTop()
            if case .dict(let index) = stack[stack.count - 1] { values.append([(key, value)], toDict: index) }
        case UInt8(ascii: "u"):                                                             // SETITEMS
            let items = try popToMark()
            guard items.count % 2 == 0 else { throw Malformed(opcodeStart, "SETITEMS with an odd number of items") }
            try requireTop()
            if case .dict(let index) = stack[stack.count - 1] { values.append(pairs(items), toDict: index) }
        case UInt8(ascii: "G"): _ = try need(8); try push(.other)                          // BINFLOAT
        // Protocol 2.
        case 0x80:                                                                          // PROTO
            let version = Int(try uint(1))
            guard version <= 5 else { throw Malformed(opcodeStart, "unsupported pickle protocol \(version)") }
            result.pickleProtocol = max(result.pickleProtocol ?? 0, version)
        case 0x81:                                                                          // NEWOBJ: cls.__new__(cls, *args)
            let args = try popValue(), cls = try popValue()
            try push(values.construct(cls, args: args, how: .new))
        case 0x82, 0x83, 0x84:                                                              // EXT1, EXT2, EXT4
            let code = try uint(opcode == 0x82 ? 1 : opcode == 0x83 ? 2 : 4)
            note(ScanFinding(
                severity: .suspicious, kind: .extensionCode, location: location, offset: opcodeStart,
                message: "imports a global through the copyreg extension registry (code \(code)); what it names cannot be known statically"))
            try push(.other)
        case 0x85: let a = try popValue(); try push(values.makeTuple([a]))                 // TUPLE1
        case 0x86: let b = try popValue(), a = try popValue(); try push(values.makeTuple([a, b])) // TUPLE2
        case 0x87: let c = try popValue(), b = try popValue(), a = try popValue(); try push(values.makeTuple([a, b, c])) // TUPLE3
        case 0x88, 0x89: try push(.other)                                                  // NEWTRUE, NEWFALSE
        case 0x8A: let n = try length(1); _ = try need(n); try push(.other)                // LONG1
        case 0x8B: let n = try length(4, signed: true); _ = try need(n); try push(.other)  // LONG4
        // Protocol 3.
        case UInt8(ascii: "B"): let n = try length(4); _ = try need(n); try push(.other)   // BINBYTES
        case UInt8(ascii: "C"): let n = try length(1); _ = try need(n); try push(.other)   // SHORT_BINBYTES
        // Protocol 4.
        case 0x8C: let n = try length(1); try pushString(n)         // SHORT_BINUNICODE
        case 0x8D: let n = try length(8); try pushString(n)         // BINUNICODE8
        case 0x8E: let n = try length(8); _ = try need(n); try push(.other)                // BINBYTES8
        case 0x8F: try push(.other)                                                        // EMPTY_SET
        case 0x90: _ = try popToMark(); try requireTop()                                   // ADDITEMS
        case 0x91: _ = try popToMark(); try push(.other)                                   // FROZENSET
        case 0x92:                                                                          // NEWOBJ_EX
            _ = try popValue()
            let args = try popValue(), cls = try popValue()
            try push(values.construct(cls, args: args, how: .new))
        case 0x93:                                                                          // STACK_GLOBAL
            let name = try popValue(), module = try popValue()
            if case .string(let moduleIndex) = module, case .string(let nameIndex) = name {
                let m = values.text(moduleIndex), n = values.text(nameIndex)
                let facts = try record(m, n, opcode: "STACK_GLOBAL")
                let value = values.global(m, n, facts: facts)
                try push(value)
            } else if values.stringsDropped {
                // The strings may have been dropped at the bound: an attacker can fill it first to hide the
                // import, which CPython would resolve. Not knowing what is imported is then the worst case.
                note(ScanFinding(
                    severity: .dangerous, kind: .unresolvedGlobal, location: location, offset: opcodeStart,
                    message: "STACK_GLOBAL after more than \(PickleValues.maxStringArenaBytes >> 20) MiB of string data, past what the scanner keeps; the import cannot be checked and is treated as dangerous"))
                try push(.other)
            } else {
                note(ScanFinding(
                    severity: .suspicious, kind: .unresolvedGlobal, location: location, offset: opcodeStart,
                    message: "STACK_GLOBAL whose module and name are not constant strings; the import cannot be resolved statically"))
                try push(.other)
            }
        case 0x94: try memoize(memo.count)                                                 // MEMOIZE
        case 0x95:                                                                          // FRAME (a length that fits the rest)
            let frameLength = try length(8)
            frameEnd = position + frameLength
        // Protocol 5.
        case 0x96: let n = try length(8); _ = try need(n); try push(.other)                // BYTEARRAY8
        case 0x97: try push(.other)                                                        // NEXT_BUFFER
        case 0x98: try requireTop()                                                        // READONLY_BUFFER
        default:
            throw Malformed(opcodeStart, "unknown opcode 0x\(String(opcode, radix: 16, uppercase: true))")
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
