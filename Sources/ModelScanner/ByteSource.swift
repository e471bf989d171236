import ModelSecIO

/// The bytes of one pickle stream's container (a file, a region of a file such
/// as a stored zip member or tar member, or bytes already in memory), read
/// through a bounded window so that a scan never holds a whole file.
///
/// Reads are mostly sequential; a read outside the window refills it at the
/// requested offset. A `ByteSource` belongs to one scan (not shared between threads).
final class ByteSource {
    /// Where the bytes come from.
    private enum Backing {
        case memory
        case file(RandomAccessFile, base: UInt64)
    }

    /// Bytes a window holds at most.
    static let windowSize = 1 << 18

    /// Number of bytes in the source.
    let count: Int
    private let backing: Backing
    private var window: [UInt8]
    private var windowStart = 0

    /// Bytes already in memory.
    init(_ bytes: [UInt8]) {
        count = bytes.count
        backing = .memory
        window = bytes
    }

    /// `count` bytes of `file` starting at `offset`, read on demand.
    /// `window`, when given, is the first bytes of that range, already read
    /// (at most `count` and `windowSize` of them).
    init(file: RandomAccessFile, offset: UInt64 = 0, count: Int, window: [UInt8] = []) {
        precondition(window.count <= count && window.count <= ByteSource.windowSize)
        self.count = count
        backing = .file(file, base: offset)
        self.window = window
    }

    /// The byte at `index` (`0 <= index < count`).
    @inline(__always) func byte(_ index: Int) throws -> UInt8 {
        let relative = index &- windowStart
        if relative >= 0, relative < window.count { return window[relative] }
        try refill(at: index, minimum: 1)
        return window[index - windowStart]
    }

    /// The bytes `start..<start+length` (`start + length <= count`), copied.
    func bytes(_ start: Int, _ length: Int) throws -> [UInt8] {
        guard length > 0 else { return [] }
        let relative = start - windowStart
        if relative >= 0, relative + length <= window.count { return Array(window[relative..<(relative + length)]) }
        guard case .file(let file, let base) = backing else {
            throw FileError(path: "", reason: "read of \(length) bytes at offset \(start) is past the end of the input")
        }
        if length > ByteSource.windowSize { return try file.read(at: base + UInt64(start), count: length) }
        try refill(at: start, minimum: length)
        return Array(window[(start - windowStart)..<(start - windowStart + length)])
    }

    /// `body` of the bytes `start..<start+length` where they lie in the
    /// window, without copying them or making a slice; nil (and `body` not
    /// called) when they are not all in the window.
    @inline(__always) func withWindowBytes<R>(_ start: Int, _ length: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        let relative = start &- windowStart
        guard relative >= 0, length >= 0, length <= window.count - relative else { return nil }
        return try window.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[relative..<(relative + length)])) }
    }

    /// The bytes `start..<start+length` (`start + length <= count`) without
    /// copying them when they are in the window: the slice shares the
    /// window's storage (a refill then leaves it the old window). The pickle
    /// scanner reads every argument through this; a copy per string was a
    /// fifth of a small pickle's scan (callgrind).
    func slice(_ start: Int, _ length: Int) throws -> ArraySlice<UInt8> {
        guard length > 0 else { return [] }
        let relative = start &- windowStart
        if relative >= 0, relative + length <= window.count { return window[relative..<(relative + length)] }
        return try bytes(start, length)[...]
    }

    /// The index of the first `byte` in `start..<count`, or nil, searching at most `limit` bytes.
    func firstIndex(of needle: UInt8, from start: Int, limit: Int) throws -> Int? {
        var index = start
        let end = min(count, start + limit)
        while index < end {
            if try byte(index) == needle { return index }
            index += 1
        }
        return nil
    }

    private func refill(at index: Int, minimum: Int) throws {
        guard case .file(let file, let base) = backing, index >= 0, index < count else {
            throw FileError(path: "", reason: "read at offset \(index) is past the end of the input")
        }
        let length = min(max(ByteSource.windowSize, minimum), count - index)
        window = []   // release the old window before reading the new one
        window = try file.read(at: base + UInt64(index), count: length)
        windowStart = index
    }
}
