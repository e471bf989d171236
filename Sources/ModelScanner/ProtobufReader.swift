/// A bounded reader of protocol buffer wire format over a region of a
/// `ByteSource`, for the few fields the ONNX and SavedModel checks need.
///
/// It reads fields one by one (tag varint, wire type, value) without a schema
/// and without allocating for values it skips, so tensor payloads of any size
/// cost nothing. As the protobuf runtime does, a field with an unexpected wire
/// type is an unknown field (skipped), and a message field that occurs several
/// times is merged (callers walk every occurrence). Groups (wire types 3 and 4,
/// deprecated) and truncated or overlong values are refused.
struct ProtobufReader {
    /// Wire format violations.
    struct Malformed: Error, CustomStringConvertible {
        /// Offset in the source.
        let offset: Int
        /// What is wrong.
        let reason: String
        var description: String { "\(reason) at offset \(offset)" }
    }

    /// One field's key and where its value lies.
    struct Field {
        /// The field number.
        let number: UInt64
        /// The wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
        let wireType: UInt8
        /// The varint value (wire type 0) or the fixed value (1, 5).
        let scalar: UInt64
        /// For wire type 2: the payload's range in the source.
        let start: Int
        let end: Int
    }

    let source: ByteSource
    private(set) var position: Int
    let end: Int

    /// A reader of `source[start..<end]`.
    init(_ source: ByteSource, start: Int = 0, end: Int? = nil) {
        self.source = source
        self.position = start
        self.end = end ?? source.count
    }

    /// A reader of a length-delimited field's payload.
    func message(_ field: Field) -> ProtobufReader {
        ProtobufReader(source, start: field.start, end: field.end)
    }

    /// Whether all fields were read.
    var atEnd: Bool { position >= end }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let at = position
        while true {
            guard position < end else { throw Malformed(offset: at, reason: "truncated varint") }
            let byte = try source.byte(position)
            position += 1
            guard shift < 64 else { throw Malformed(offset: at, reason: "varint longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard end - position >= count else { throw Malformed(offset: position, reason: "truncated fixed-width value") }
        var value: UInt64 = 0
        for i in (0..<count).reversed() { value = value << 8 | UInt64(try source.byte(position + i)) }
        position += count
        return value
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> Field? {
        guard position < end else { return nil }
        let at = position
        let key = try varint()
        let number = key >> 3, wireType = UInt8(key & 7)
        guard number != 0 else { throw Malformed(offset: at, reason: "field number 0") }
        switch wireType {
        case 0: return Field(number: number, wireType: 0, scalar: try varint(), start: position, end: position)
        case 1: return Field(number: number, wireType: 1, scalar: try fixed(8), start: position, end: position)
        case 5: return Field(number: number, wireType: 5, scalar: try fixed(4), start: position, end: position)
        case 2:
            let length = try varint()
            guard length <= UInt64(end - position) else { throw Malformed(offset: at, reason: "length-delimited field of \(length) bytes runs past its message") }
            let start = position
            position += Int(length)
            return Field(number: number, wireType: 2, scalar: length, start: start, end: position)
        default:
            throw Malformed(offset: at, reason: "wire type \(wireType) (groups are not supported)")
        }
    }

    /// A length-delimited field's bytes, refused when longer than `limit`.
    func bytes(_ field: Field, limit: Int) throws -> [UInt8] {
        guard field.end - field.start <= limit else {
            throw Malformed(offset: field.start, reason: "string field of \(field.end - field.start) bytes is longer than \(limit)")
        }
        return try source.bytes(field.start, field.end - field.start)
    }
}
