/// .npy files and .npy members of zip archives: the header is always read;
/// the data is read (as a pickle stream) only when the dtype is not proven
/// object-free, so large numeric arrays cost a few hundred bytes.
extension FileScan {
    mutating func scanNpyFile(_ file: RandomAccessFile, limits: ScanLimits) throws {
        let prefix = try file.read(at: 0, count: Int(min(size, 12)))
        let headerLength: Int
        do {
            headerLength = try NumpyArrayHeader.headerLength(prefix)
        } catch {
            add(.error, .malformedNumpy, path, "\(error)")
            return
        }
        guard UInt64(headerLength) <= size, headerLength <= limits.maxNpyHeaderBytes + 12 else {
            add(.error, .malformedNumpy, path, "header length \(headerLength) runs past the end of the file or the limit")
            return
        }
        let header: NumpyArrayHeader
        do {
            header = try NumpyArrayHeader(try file.read(at: 0, count: headerLength), limits: limits)
        } catch {
            add(.error, .malformedNumpy, path, "\(error)")
            return
        }
        if header.hasObjects {
            scanNpyPayload(whole(file), header: header, location: path, limits: limits)
        } else if let expected = header.expectedDataLength, expected != size - UInt64(header.dataOffset) {
            add(.error, .malformedNumpy, path, "data is \(size - UInt64(header.dataOffset)) bytes, the header describes \(expected)")
        }
    }

    /// A .npy member: only its header is read, unless it may hold objects (then
    /// the whole member is read, CRC-checked, and its pickle scanned).
    mutating func scanNpyMember(_ entry: ZipArchive.Entry, in archive: ZipArchive, location: String, limits: ScanLimits) throws {
        let head = try archive.prefix(of: entry, count: 12)
        let headerLength: Int
        do {
            headerLength = try NumpyArrayHeader.headerLength(head)
        } catch {
            add(.error, .malformedNumpy, location, "\(error)")
            return
        }
        guard headerLength <= limits.maxNpyHeaderBytes + 12, UInt64(headerLength) <= entry.uncompressedSize else {
            add(.error, .malformedNumpy, location, "header length \(headerLength) runs past the member or the limit")
            return
        }
        let header: NumpyArrayHeader
        do {
            header = try NumpyArrayHeader(try archive.prefix(of: entry, count: headerLength), limits: limits)
        } catch let error as NumpyArrayHeader.Failure {
            add(.error, .malformedNumpy, location, "\(error)")
            return
        }
        if header.hasObjects {
            guard let bytes = try readEntry(entry, in: archive, location: location, limits: limits) else { return }
            scanNpyPayload(bytes, header: header, location: location, limits: limits)
        } else if let expected = header.expectedDataLength, expected != entry.uncompressedSize - UInt64(header.dataOffset) {
            add(.error, .malformedNumpy, location, "data is \(entry.uncompressedSize - UInt64(header.dataOffset)) bytes, the header describes \(expected)")
        }
    }

    /// The pickle after the header of an array that may hold objects; it must
    /// end exactly at the end of the file or member.
    private mutating func scanNpyPayload(_ bytes: ByteSource, header: NumpyArrayHeader, location: String, limits: ScanLimits) {
        if header.verdict == .unknown {
            // Not an error by itself: numpy either rejects the dtype, builds a
            // numeric one (and never unpickles), or unpickles what is scanned here.
            let before = findings.count
            scanSinglePickle(bytes, from: header.dataOffset, location: location, limits: limits)
            for index in before..<findings.count where findings[index].kind == .malformedPickle || findings[index].kind == .trailingData {
                let finding = findings[index]
                findings[index] = ScanFinding(severity: finding.severity, kind: finding.kind, location: finding.location,
                                              offset: finding.offset, global: finding.global,
                                              message: "dtype description not proven object-free, so the data was read as a pickle: \(finding.message)")
            }
        } else {
            scanSinglePickle(bytes, from: header.dataOffset, location: location, limits: limits)
        }
    }

    /// The whole member as a pickle input (stored: read in place; deflated:
    /// inflated), or nil (with a resource-limit finding) when a deflated
    /// member is over the in-memory limit.
    mutating func readEntry(_ entry: ZipArchive.Entry, in archive: ZipArchive, location: String, limits: ScanLimits) throws -> ByteSource? {
        if entry.method != 0, entry.uncompressedSize > UInt64(limits.maxPickleBytes) || entry.compressedSize > UInt64(limits.maxPickleBytes) {
            add(.error, .resourceLimit, location, "deflated zip entry is \(entry.uncompressedSize) bytes, more than the \(limits.maxPickleBytes)-byte limit for pickle streams held in memory; not scanned")
            return nil
        }
        return try archive.source(of: entry, inMemoryLimit: limits.maxPickleBytes)
    }
}
