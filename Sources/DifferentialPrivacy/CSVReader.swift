import Foundation
import ModelSecCrypto
import ModelSecIO

/// A streaming reader for RFC 4180 CSV (comma separator, `"` quoting with
/// `""` escapes, CRLF or LF line ends, quoted fields may span lines).
///
/// Hand-written because no CSV package is a declared dependency of this
/// project, and because we need what most readers do not give together:
/// constant memory on large files, the 1-based line number at which a
/// record starts, problems confined to the field they occur in, and the
/// SHA-256 of exactly the bytes that were parsed.
///
/// Record boundaries depend only on quotes, commas and line ends (all
/// ASCII), so a field that is not valid UTF-8, is longer than
/// ``maxFieldBytes``, has a stray quote (`ab"c`, read literally as Python's
/// csv module does) or text after its closing quote (`"ab"c`) is reported
/// as unreadable (nil) and the record goes on. The one error that cannot be
/// confined is a quoted field that is never closed: it runs to the end of
/// the file, and ``next()`` throws.
public final class CSVReader {
    /// A record and the line it starts on.
    public struct Record {
        /// The fields kept (at most ``CSVReader/maxFields``); nil for an unreadable field.
        public var fields: [String?]
        /// The number of fields in the record, including any beyond ``CSVReader/maxFields``.
        public var fieldCount: Int
        /// The 1-based line number where the record starts.
        public var line: Int
    }

    /// The longest field kept, in bytes; longer fields are unreadable (nil).
    public static let maxFieldBytes = 1 << 20
    /// The most fields kept per record; further fields are counted, not kept.
    public static let maxFields = 100_000

    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEOF = false
    private var line = 1
    private var hasher: HashFunctionState? = SHA2.SHA256.hasher()
    /// Bytes read from the file so far (for progress reporting).
    public private(set) var bytesRead: Int64 = 0
    /// SHA-256 of every byte of the file, available once ``next()`` has returned nil.
    public private(set) var sha256: SHA2.Digest?

    /// Opens `path` for reading.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw FileError(path: path, reason: "is a directory, not a CSV file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        self.handle = handle
        self.path = path
    }

    deinit { try? handle.close() }

    private func fill() throws -> Bool {
        if atEOF { return false }
        let chunk: Data
        do { chunk = try handle.read(upToCount: 1 << 16) ?? Data() } catch {
            throw FileError(path: path, reason: "read failed after \(bytesRead) bytes")
        }
        if chunk.isEmpty {
            atEOF = true
            sha256 = hasher.take()?.finalize()
            return false
        }
        hasher!.update(chunk)
        let first = bytesRead == 0
        bytesRead += Int64(chunk.count)
        if position > 0 { buffer.removeFirst(position); position = 0 }
        buffer.append(contentsOf: chunk)
        // A UTF-8 byte order mark (as spreadsheet exports write) is not data.
        if first && buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        return true
    }

    private func nextByte() throws -> UInt8? {
        if position == buffer.count, try !fill() { return nil }
        let b = buffer[position]
        position += 1
        return b
    }

    private func peekByte() throws -> UInt8? {
        if position == buffer.count, try !fill() { return nil }
        return buffer[position]
    }

    /// The next record, or nil at end of file. Blank lines are skipped.
    /// Throws ``DPError/invalidValue(location:reason:)`` naming the line of
    /// a quoted field that is never closed, and ``FileError`` if reading fails.
    public func next() throws -> Record? {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        while true {
            let start = line
            var fields: [String?] = []
            var fieldCount = 0
            var field: [UInt8] = []
            var inQuotes = false, wasQuoted = false, unreadable = false, sawAnything = false, sawContent = false
            func append(_ b: UInt8) {
                if field.count < Self.maxFieldBytes { field.append(b) } else { unreadable = true }
            }
            func finishField() {
                fieldCount += 1
                if fields.count < Self.maxFields {
                    fields.append(unreadable ? nil : String(validating: field, as: UTF8.self))
                }
                field.removeAll(keepingCapacity: true)
                wasQuoted = false
                unreadable = false
            }
            while true {
                guard let b = try nextByte() else {
                    if inQuotes { throw DPError.invalidValue(location: "\(path):\(start)", reason: "malformed CSV: a quoted field that starts in this record is never closed") }
                    if !sawAnything { return nil }
                    finishField()
                    return Record(fields: fields, fieldCount: fieldCount, line: start)
                }
                sawAnything = true
                if b != lf && b != cr { sawContent = true }
                if inQuotes {
                    if b == quote {
                        if try peekByte() == quote { _ = try nextByte(); append(quote) } else { inQuotes = false }
                    } else {
                        if b == lf { line += 1 }
                        append(b)
                    }
                    continue
                }
                switch b {
                case quote where field.isEmpty && !wasQuoted && !unreadable:
                    inQuotes = true; wasQuoted = true
                case comma:
                    finishField()
                case cr:
                    if try peekByte() == lf { continue }
                    fallthrough
                case lf:
                    line += 1
                    finishField()
                    if !sawContent { fields = []; fieldCount = 0; sawAnything = false; break }
                    return Record(fields: fields, fieldCount: fieldCount, line: start)
                default:
                    // A quote inside an unquoted field, or text after a closing
                    // quote: the field is unreadable; the record goes on.
                    if b == quote || wasQuoted { unreadable = true }
                    append(b)
                }
                if !sawAnything { break }
            }
        }
    }
}
