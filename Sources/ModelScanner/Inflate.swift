/// A small, bounded raw DEFLATE (RFC 1951) decoder for zip entries.
///
/// Why hand-written: Swift on Linux has no decompression in Foundation, the
/// only C library the project may touch lives behind ModelSecCrypto, and a
/// scanner must decode hostile input with a hard output limit and fail closed
/// on every malformed stream (bad block type, invalid code lengths, distance
/// beyond the output, truncation, output over the declared size). Correctness
/// over speed: the scanner only inflates pickle streams and .npy members.
enum Inflate {
    /// Why a DEFLATE stream was rejected.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Decodes the raw DEFLATE stream `input`, refusing to produce more than
    /// `limit` bytes.
    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var state = State(input: input, limit: limit)
        try state.run()
        return state.output
    }

    /// The first `count` bytes of the stream (or fewer when it is shorter),
    /// decoding no further than needed; `input` may be a prefix of the stream.
    static func prefix(_ input: [UInt8], count: Int) throws -> [UInt8] {
        var state = State(input: input, limit: count)
        do {
            try state.run()
        } catch let failure as Failure where state.output.count >= count {
            _ = failure   // stopped at the limit, or ran out of the supplied input after it
        }
        return Array(state.output.prefix(count))
    }

    private static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                            35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                             3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                              257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                              8193, 12289, 16385, 24577]
    private static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                               7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A canonical Huffman code (counts per length, symbols sorted by code).
    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: [Int]) throws {
            symbols = []
            for length in lengths { counts[length] += 1 }
            counts[0] = 0
            // Reject over-subscribed codes (incomplete codes are allowed, as in zlib,
            // only for the single-distance-code case; decoding an unused code fails).
            var left = 1
            for length in 1...15 {
                left <<= 1
                left -= counts[length]
                if left < 0 { throw Failure(description: "over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }
    }

    private struct State {
        let input: [UInt8]
        let limit: Int
        var position = 0
        var bitBuffer = 0
        var bitCount = 0
        var output: [UInt8] = []

        init(input: [UInt8], limit: Int) {
            self.input = input
            self.limit = limit
            output.reserveCapacity(min(limit, 1 << 20))
        }

        mutating func bits(_ count: Int) throws -> Int {
            while bitCount < count {
                guard position < input.count else { throw Failure(description: "deflate stream is truncated") }
                bitBuffer |= Int(input[position]) << bitCount
                position += 1
                bitCount += 8
            }
            let value = bitBuffer & ((1 << count) - 1)
            bitBuffer >>= count
            bitCount -= count
            return value
        }

        mutating func decode(_ code: Huffman) throws -> Int {
            var value = 0, first = 0, index = 0
            for length in 1...15 {
                value |= try bits(1)
                let count = code.counts[length]
                if value - count < first { return code.symbols[index + (value - first)] }
                index += count
                first += count
                first <<= 1
                value <<= 1
            }
            throw Failure(description: "invalid Huffman code in deflate stream")
        }

        mutating func emit(_ byte: UInt8) throws {
            guard output.count < limit else { throw Failure(description: "deflate output exceeds the \(limit)-byte limit") }
            output.append(byte)
        }

        mutating func run() throws {
            var last = false
            while !last {
                last = try bits(1) == 1
                switch try bits(2) {
                case 0: try stored()
                case 1: try fixed()
                case 2: try dynamic()
                default: throw Failure(description: "invalid deflate block type 3")
                }
            }
        }

        mutating func stored() throws {
            bitBuffer = 0
            bitCount = 0
            guard position + 4 <= input.count else { throw Failure(description: "deflate stream is truncated") }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
            position += 4
            guard length == (~complement & 0xFFFF) else { throw Failure(description: "stored block length check failed") }
            // Copy what fits before failing, so `Inflate.prefix` keeps a partial block.
            let available = min(length, input.count - position, limit - output.count)
            output.append(contentsOf: input[position..<(position + available)])
            position += available
            guard available == length else {
                throw Failure(description: output.count >= limit ? "deflate output exceeds the \(limit)-byte limit" : "deflate stream is truncated")
            }
        }

        mutating func fixed() throws {
            var lengths = [Int](repeating: 8, count: 288)
            for i in 144..<256 { lengths[i] = 9 }
            for i in 256..<280 { lengths[i] = 7 }
            let literal = try Huffman(lengths: lengths)
            let distance = try Huffman(lengths: [Int](repeating: 5, count: 30))
            try codes(literal: literal, distance: distance)
        }

        mutating func dynamic() throws {
            let literalCount = try bits(5) + 257
            let distanceCount = try bits(5) + 1
            let codeLengthCount = try bits(4) + 4
            guard literalCount <= 286, distanceCount <= 30 else { throw Failure(description: "bad deflate code counts") }
            var codeLengths = [Int](repeating: 0, count: 19)
            for i in 0..<codeLengthCount { codeLengths[Inflate.codeLengthOrder[i]] = try bits(3) }
            let codeLengthCode = try Huffman(lengths: codeLengths)
            var lengths = [Int]()
            lengths.reserveCapacity(literalCount + distanceCount)
            while lengths.count < literalCount + distanceCount {
                let symbol = try decode(codeLengthCode)
                switch symbol {
                case 0..<16:
                    lengths.append(symbol)
                case 16:
                    guard let previous = lengths.last else { throw Failure(description: "repeat with no previous code length") }
                    lengths.append(contentsOf: repeatElement(previous, count: 3 + (try bits(2))))
                case 17:
                    lengths.append(contentsOf: repeatElement(0, count: 3 + (try bits(3))))
                default:
                    lengths.append(contentsOf: repeatElement(0, count: 11 + (try bits(7))))
                }
            }
            guard lengths.count == literalCount + distanceCount else { throw Failure(description: "code lengths overrun") }
            guard lengths[256] != 0 else { throw Failure(description: "no end-of-block code") }
            let literal = try Huffman(lengths: Array(lengths[0..<literalCount]))
            let distance = try Huffman(lengths: Array(lengths[literalCount...]))
            try codes(literal: literal, distance: distance)
        }

        mutating func codes(literal: Huffman, distance: Huffman) throws {
            while true {
                let symbol = try decode(literal)
                if symbol < 256 {
                    try emit(UInt8(symbol))
                } else if symbol == 256 {
                    return
                } else {
                    let index = symbol - 257
                    guard index < 29 else { throw Failure(description: "invalid length symbol") }
                    let length = Inflate.lengthBase[index] + (try bits(Inflate.lengthExtra[index]))
                    let distanceSymbol = try decode(distance)
                    guard distanceSymbol < 30 else { throw Failure(description: "invalid distance symbol") }
                    let back = Inflate.distanceBase[distanceSymbol] + (try bits(Inflate.distanceExtra[distanceSymbol]))
                    guard back <= output.count else { throw Failure(description: "distance reaches before the start of the output") }
                    let start = output.count - back
                    for i in 0..<length { try emit(output[start + i]) }
                }
            }
        }
    }
}
