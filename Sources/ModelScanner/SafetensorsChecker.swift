import Foundation
import ModelSecIO

/// Structural checks of a `.safetensors` file, the same ones the safetensors
/// library makes before trusting the offsets:
/// 8-byte little-endian header length N (within the file and the 100 MB
/// header limit); N bytes of UTF-8 JSON starting with `{` (trailing spaces
/// allowed); an optional `__metadata__` map of strings to strings; every other
/// key a tensor with a known `dtype`, a `shape` of non-negative integers and
/// `data_offsets` [begin, end] whose length equals the element count times the
/// dtype size; sorted by begin, the tensors tile the data section exactly:
/// no overlap, no gap, nothing past the end and nothing left over.
enum SafetensorsChecker {
    /// The most JSON values a header may hold: 7 or so per tensor (name,
    /// object, dtype, shape and its dimensions, two offsets), so room for
    /// over 100,000 tensors in one file, with a decoded tree of tens of MiB.
    static let maximumHeaderValues = 1_000_000

    /// Bits per element of each dtype.
    static let dtypeBits: [String: UInt64] = [
        "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16,
        "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64, "C64": 64,
        "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
    ]

    private struct TensorInfo: Decodable {
        let dtype: String
        let shape: [UInt64]
        let data_offsets: [UInt64]
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Header: Decodable {
        var tensors: [(String, TensorInfo)] = []
        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    _ = try container.decode([String: String].self, forKey: key)
                } else {
                    tensors.append((key.stringValue, try container.decode(TensorInfo.self, forKey: key)))
                }
            }
        }
    }

    /// The problems found in the file (empty when it is well formed).
    static func check(_ file: RandomAccessFile, limits: ScanLimits) throws -> [String] {
        guard file.size >= 8 else { return ["file is shorter than the 8-byte header length"] }
        let headerLength = le64(try file.read(at: 0, count: 8), 0)
        guard headerLength <= UInt64(limits.maxSafetensorsHeaderBytes) else {
            return ["header length \(headerLength) exceeds the \(limits.maxSafetensorsHeaderBytes)-byte limit"]
        }
        guard headerLength <= file.size - 8 else { return ["header length \(headerLength) runs past the end of the file"] }
        let header = try file.read(at: 8, count: Int(headerLength))
        guard header.first == UInt8(ascii: "{") else { return ["header does not start with '{'"] }
        guard String(validating: header, as: UTF8.self) != nil else { return ["header is not UTF-8"] }
        // The safetensors library (serde_json) compares tensor names as bytes
        // and keeps one value of a repeated name; JSONDecoder compares them
        // as Swift strings. A header that the two could read as different
        // tensor sets is refused here, before either reading.
        // The values are bounded too: JSONDecoder's tree of a header of small
        // values costs over 10 times the header (up to 16 MiB), in every lane.
        do { try UnambiguousJSON.check(header, maximumValues: maximumHeaderValues) } catch let tooLarge as StrictJSON.TooManyValues {
            return ["header holds \(tooLarge); real headers hold about 7 per tensor"]
        } catch {
            return ["header is not valid JSON that reads one way: \(error)"]
        }
        let parsed: Header
        do {
            parsed = try JSONDecoder().decode(Header.self, from: Data(header))
        } catch {
            return ["header is not valid JSON of the safetensors schema: \(describe(error))"]
        }
        var problems: [String] = []
        let dataLength = file.size - 8 - headerLength
        var ranges: [(String, UInt64, UInt64)] = []
        for (name, info) in parsed.tensors {
            guard let bits = dtypeBits[info.dtype] else { problems.append("tensor \(name): unknown dtype \(info.dtype)"); continue }
            guard info.data_offsets.count == 2, info.data_offsets[0] <= info.data_offsets[1] else {
                problems.append("tensor \(name): data_offsets must be [begin, end] with begin <= end")
                continue
            }
            var elements: UInt64 = 1
            var overflow = false
            for dimension in info.shape {
                let (product, o) = elements.multipliedReportingOverflow(by: dimension)
                elements = product
                overflow = overflow || o
            }
            let (totalBits, o2) = elements.multipliedReportingOverflow(by: bits)
            let begin = info.data_offsets[0], end = info.data_offsets[1]
            if overflow || o2 || totalBits % 8 != 0 || totalBits / 8 != end - begin {
                problems.append("tensor \(name): shape \(info.shape) of \(info.dtype) does not match its \(end - begin) bytes")
            }
            ranges.append((name, begin, end))
        }
        ranges.sort { ($0.1, $0.2) < ($1.1, $1.2) }
        var cursor: UInt64 = 0
        for (name, begin, end) in ranges {
            if begin < cursor { problems.append("tensor \(name) overlaps the previous tensor (begins at \(begin), before \(cursor))") }
            if begin > cursor { problems.append("gap of \(begin - cursor) unaccounted bytes before tensor \(name)") }
            if end > dataLength { problems.append("tensor \(name) ends at \(end), past the \(dataLength)-byte data section") }
            cursor = max(cursor, end)
        }
        if cursor < dataLength { problems.append("\(dataLength - cursor) bytes after the last tensor are not covered by the header") }
        return problems
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
