import Foundation
import ModelSecIO

/// A streaming reader for RFC 4180 CSV (comma separator, `"` quoting with
/// `""` escapes, CRLF or LF line ends, quoted fields may span lines).
///
/// Hand-written because no CSV package is a declared dependency of this
/// project, and because we need exactly two things most readers do not give
/// together: constant memory on large files and the 1-based line number at
/// which a malformed record starts.
public final class CSVReader {
    /// A record and the line it starts on.
    public struct Record {
        /// The fields.
        public var fields: [String]
        /// The 1-based line number where the record starts.
        public var line: Int
    }

    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEOF = false
    private var line = 1
    /// Bytes read from the file so far (for progress reporting).
    public private(set) var bytesRead: Int64 = 0

    /// Opens `path` for reading.
    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        self.handle = handle
        self.path = path
    }

    deinit { try? handle.close() }

    private func fill() -> Bool {
        if atEOF { return false }
        let chunk = handle.readData(ofLength: 1 << 16)
        if chunk.isEmpty { atEOF = true; return false }
        let first = bytesRead == 0
        bytesRead += Int64(chunk.count)
        if position > 0 { buffer.removeFirst(position); position = 0 }
        buffer.append(contentsOf: chunk)
        // A UTF-8 byte order mark (as spreadsheet exports write) is not data.
        if first && buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        return true
    }

    private func nextByte() -> UInt8? {
        if position == buffer.count && !fill() { return nil }
        let b = buffer[position]
        position += 1
        return b
    }

    private func peekByte() -> UInt8? {
        if position == buffer.count && !fill() { return nil }
        return buffer[position]
    }

    /// The next record, or nil at end of file. Blank lines are skipped.
    /// Throws ``DPError/invalidValue(location:reason:)`` naming the line of a
    /// malformed record (stray or unterminated quote, invalid UTF-8).
    public func next() throws -> Record? {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        while true {
            let start = line
            var fields: [String] = []
            var field: [UInt8] = []
            var inQuotes = false, wasQuoted = false, sawAnything = false
            func finishField() throws {
                guard let s = String(validating: field, as: UTF8.self) else {
                    throw DPError.invalidValue(location: "\(path):\(start)", reason: "malformed row: invalid UTF-8")
                }
                fields.append(s)
                field.removeAll(keepingCapacity: true)
                wasQuoted = false
            }
            while true {
                guard let b = nextByte() else {
                    if inQuotes { throw DPError.invalidValue(location: "\(path):\(start)", reason: "malformed row: unterminated quoted field") }
                    if !sawAnything { return nil }
                    try finishField()
                    return Record(fields: fields, line: start)
                }
                sawAnything = true
                if inQuotes {
                    if b == quote {
                        if peekByte() == quote { _ = nextByte(); field.append(quote) } else { inQuotes = false }
                    } else {
                        if b == lf { line += 1 }
                        field.append(b)
                    }
                    continue
                }
                switch b {
                case quote:
                    guard field.isEmpty && !wasQuoted else {
                        throw DPError.invalidValue(location: "\(path):\(start)", reason: "malformed row: stray quote in a field")
                    }
                    inQuotes = true; wasQuoted = true
                case comma:
                    try finishField()
                case cr:
                    if peekByte() == lf { continue }
                    fallthrough
                case lf:
                    line += 1
                    try finishField()
                    if fields.count == 1 && fields[0].isEmpty { fields = []; sawAnything = false; break }
                    return Record(fields: fields, line: start)
                default:
                    guard !wasQuoted else {
                        throw DPError.invalidValue(location: "\(path):\(start)", reason: "malformed row: text after a closing quote")
                    }
                    field.append(b)
                }
                if !sawAnything { break }
            }
        }
    }
}

