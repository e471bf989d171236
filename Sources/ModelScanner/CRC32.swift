/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) as used by zip.
///
/// Hand-written (a dozen lines) because the scanner verifies every zip entry
/// it reads against the CRC its central directory records, and the module must
/// not depend on C (zlib) or on a zip library that trusts local headers.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var c = UInt32(index)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        return c
    }

    /// The CRC-32 of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32 of the bytes that had CRC `crc` followed by `bytes` (start with 0).
    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        var crc = crc ^ 0xFFFF_FFFF
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
