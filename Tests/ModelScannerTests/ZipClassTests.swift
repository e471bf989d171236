import XCTest
import TestSupport
@testable import ModelScanner

/// Issue #13 items 4 and 5: zip archives that two readers could read
/// differently, and PyTorch's case-insensitive member lookup.
final class ZipClassTests: XCTestCase {
    private let benignPickle: [UInt8] = Hostile.Op.proto2 + Hostile.Op.emptyDict + Hostile.Op.stop
    private var evilPickle: [UInt8] { Hostile.systemPickle("echo zip") }

    private func benignMembers() -> [Hostile.ZipMember] {
        [Hostile.ZipMember(name: "archive/data.pkl", data: benignPickle),
         Hostile.ZipMember(name: "archive/version", data: Array("3\n".utf8))]
    }

    /// Asserts the archive is refused as a whole, with `reason` in the message.
    private func assertRefused(_ bytes: [UInt8], _ reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try Hostile.scan(bytes, name: "model.pt")
        XCTAssertEqual(report.kinds, [.malformedArchive], "\(report.findings)", file: file, line: line)
        XCTAssertTrue(report.findings.first?.message.contains(reason) ?? false, "\(report.findings)", file: file, line: line)
    }

    func testZipAmbiguityClass_benignHandBuiltArchiveIsClean() throws {
        let report = try Hostile.scan(Hostile.zip(benignMembers()), name: "model.pt")
        XCTAssertEqual(report.format, .pytorchZip)
        XCTAssertEqual(report.findings, [])
    }

    /// Python's zipfile takes the last `PK\x05\x06` without checking its comment
    /// length; a fake record in the comment points it at a second directory.
    func testZipAmbiguityClass_endRecordInsideTheCommentIsRefused() throws {
        let real = Hostile.zip(benignMembers())
        let eocdAt = real.count - 22
        // Comment: an evil local entry, a central directory for it, a fake end record, and one trailing byte
        // (so the fake record's comment length, 0, does not reach the end of the file).
        let commentStart = real.count
        let evilName = Array("archive/data.pkl".utf8)
        let crc = CRC32.checksum(evilPickle)
        var comment = Hostile.u32(0x0403_4B50) + Hostile.u16(20) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0)
            + Hostile.u32(crc) + Hostile.u32(UInt32(evilPickle.count)) + Hostile.u32(UInt32(evilPickle.count))
            + Hostile.u16(UInt16(evilName.count)) + Hostile.u16(0) + evilName + evilPickle
        let cdStart = commentStart + comment.count
        let central = Hostile.u32(0x0201_4B50) + Hostile.u16(20) + Hostile.u16(20) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0)
            + Hostile.u32(crc) + Hostile.u32(UInt32(evilPickle.count)) + Hostile.u32(UInt32(evilPickle.count))
            + Hostile.u16(UInt16(evilName.count)) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u32(0)
            + Hostile.u32(UInt32(commentStart)) + evilName
        comment += central
        comment += Hostile.endRecord(entries: 1, cdSize: central.count, cdOffset: cdStart, comment: []) + [0x20]
        var bytes = Array(real.prefix(eocdAt))
        bytes += Hostile.u32(0x0605_4B50) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(2) + Hostile.u16(2)
        bytes += Array(real[(eocdAt + 12)..<(eocdAt + 20)]) + Hostile.u16(UInt16(comment.count)) + comment
        try assertRefused(bytes, "last end-of-central-directory signature")
        // Python's zipfile really reads the evil directory.
        let outcome = try RealLoader.load(try Hostile.write(bytes, name: "model.pt"), with: "zipfile")
        XCTAssertEqual(outcome.systemCalls, ["echo zip"], "zipfile read: \(outcome.detail) \(outcome.error ?? "")")
    }

    func testZipAmbiguityClass_commentWithARecordSignatureIsRefused() throws {
        for signature: [UInt8] in [[0x50, 0x4B, 0x01, 0x02], [0x50, 0x4B, 0x03, 0x04], [0x50, 0x4B, 0x06, 0x06], [0x50, 0x4B, 0x07, 0x08]] {
            try assertRefused(Hostile.zip(benignMembers(), comment: Array("note ".utf8) + signature + [0, 0]), "comment contains")
        }
        XCTAssertEqual(try Hostile.scan(Hostile.zip(benignMembers(), comment: Array("a harmless comment".utf8)), name: "m.pt").findings, [])
    }

    func testZipAmbiguityClass_localAndCentralHeadersMustAgree() throws {
        var members = benignMembers()
        members[0].localName = "archive/DATA.pkl"
        try assertRefused(Hostile.zip(members), "local header names a different file")
        members = benignMembers()
        members[0].localFlags = 0x0001
        try assertRefused(Hostile.zip(members), "disagrees on the flags")
        members = benignMembers()
        members[0].localSize = 1
        try assertRefused(Hostile.zip(members), "disagrees on the CRC or sizes")
    }

    /// With a data descriptor (flag bit 3, what PyTorch's writer sets), the
    /// local sizes must be zero (PyTorch, Python's zipfile without zip64) or
    /// the real ones. Saturated sizes without a zip64 extra field are refused:
    /// no known writer produces them, and a streaming reader that takes a
    /// non-zero local size at face value would read 4 GiB of following
    /// entries as this member's data and find its next "entry" inside tensor
    /// bytes the scanner never reads.
    func testZipAmbiguityClass_saturatedLocalSizesWithADescriptorAreRefused() throws {
        var members = benignMembers()
        for index in members.indices {
            members[index].flags = 0x0008
            members[index].dataDescriptor = true
            members[index].localSize = 0
        }
        XCTAssertEqual(try Hostile.scan(Hostile.zip(members), name: "m.pt").findings, [])
        members[0].localSize = 0xFFFF_FFFF
        try assertRefused(Hostile.zip(members), "disagrees on the CRC or sizes")
    }

    func testZipAmbiguityClass_overlappingAndHiddenEntriesAreRefused() throws {
        // Entry B's local header sits inside entry A's data: both directories entries are "valid".
        let inner = Hostile.zip([Hostile.ZipMember(name: "archive/data.pkl", data: evilPickle)])
        let innerLocalLength = 30 + "archive/data.pkl".utf8.count + evilPickle.count
        var outer = Hostile.zip([Hostile.ZipMember(name: "archive/blob", data: Array(inner.prefix(innerLocalLength)))])
        // Point a second central entry at the embedded local header (offset 30 + name of the outer entry).
        let embeddedAt = 30 + "archive/blob".utf8.count
        let eocd = outer.count - 22
        let cdOffset = Int(le32(outer, eocd + 16)), cdSize = Int(le32(outer, eocd + 12))
        var central = Array(outer[cdOffset..<(cdOffset + cdSize)])
        let name = Array("archive/data.pkl".utf8), crc = CRC32.checksum(evilPickle)
        central += Hostile.u32(0x0201_4B50) + Hostile.u16(20) + Hostile.u16(20) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0)
            + Hostile.u32(crc) + Hostile.u32(UInt32(evilPickle.count)) + Hostile.u32(UInt32(evilPickle.count))
            + Hostile.u16(UInt16(name.count)) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u32(0)
            + Hostile.u32(UInt32(embeddedAt)) + name
        outer = Array(outer.prefix(cdOffset)) + central + Hostile.endRecord(entries: 2, cdSize: central.count, cdOffset: cdOffset, comment: [])
        try assertRefused(outer, "overlaps")

        // A complete evil entry hidden between two listed entries, and one prepended before the first
        // (streaming readers, which walk local headers, would read it).
        let hidden = Array(inner.prefix(innerLocalLength))
        var members = benignMembers()
        members[1].hiddenBefore = hidden
        try assertRefused(Hostile.zip(members), "belong to no entry")
        try assertRefused(Hostile.zip(benignMembers(), prefix: hidden), "belong to no entry")
    }

    func testZipAmbiguityClass_namesEqualUpToCaseOrUnreadableAlikeAreRefused() throws {
        var members = benignMembers()
        members.append(Hostile.ZipMember(name: "archive/DATA.PKL", data: evilPickle))
        try assertRefused(Hostile.zip(members), "differ only in case")
        members = benignMembers()
        members.append(Hostile.ZipMember(name: "archive/data.pkl", data: evilPickle))
        try assertRefused(Hostile.zip(members), "duplicate entry name")
        // Python's zipfile reads a non-ASCII name without flag bit 11 as cp437 (a different name than miniz sees).
        members = benignMembers()
        members.append(Hostile.ZipMember(name: "archive/daté.pkl", data: benignPickle))
        try assertRefused(Hostile.zip(members), "without the UTF-8 flag")
        members[2].flags = 0x0800
        XCTAssertEqual(try Hostile.scan(Hostile.zip(members), name: "m.pt").findings, [])
        // Python's zipfile cuts names at NUL: "archive/data.pkl\0x" is archive/data.pkl to it.
        members = [Hostile.ZipMember(name: "archive/data.pkl\u{0}x", data: evilPickle), Hostile.ZipMember(name: "archive/version", data: [0x33])]
        try assertRefused(Hostile.zip(members), "NUL")
        members = [Hostile.ZipMember(name: "archive\\data.pkl", data: evilPickle), Hostile.ZipMember(name: "archive/version", data: [0x33])]
        try assertRefused(Hostile.zip(members), "backslash")
    }

    func testZipAmbiguityClass_zip64RecordsMustAgreeWithTheClassicRecord() throws {
        let plain = Hostile.zip(benignMembers())
        let eocd = plain.count - 22
        let entries = UInt64(le16(plain, eocd + 10)), cdSize = UInt64(le32(plain, eocd + 12)), cdOffset = UInt64(le32(plain, eocd + 16))
        func variant(zip64Entries: UInt64, classicEntries: UInt16, locatorOffsetDelta: Int = 0) -> [UInt8] {
            var out = Array(plain.prefix(eocd))
            let zip64At = UInt64(out.count)
            out += Hostile.u32(0x0606_4B50) + Hostile.u64(44) + Hostile.u16(45) + Hostile.u16(45) + Hostile.u32(0) + Hostile.u32(0)
            out += Hostile.u64(zip64Entries) + Hostile.u64(zip64Entries) + Hostile.u64(cdSize) + Hostile.u64(cdOffset)
            out += Hostile.u32(0x0706_4B50) + Hostile.u32(0) + Hostile.u64(UInt64(Int(zip64At) + locatorOffsetDelta)) + Hostile.u32(1)
            out += Hostile.u32(0x0605_4B50) + Hostile.u16(0) + Hostile.u16(0) + Hostile.u16(classicEntries) + Hostile.u16(classicEntries)
                + Hostile.u32(0xFFFF_FFFF) + Hostile.u32(0xFFFF_FFFF) + Hostile.u16(0)
            return out
        }
        XCTAssertEqual(try Hostile.scan(variant(zip64Entries: entries, classicEntries: 0xFFFF), name: "m.pt").findings, [])
        XCTAssertEqual(try Hostile.scan(variant(zip64Entries: entries, classicEntries: UInt16(entries)), name: "m.pt").findings, [])
        try assertRefused(variant(zip64Entries: entries, classicEntries: UInt16(entries) - 1), "disagree")
        try assertRefused(variant(zip64Entries: entries, classicEntries: 0xFFFF, locatorOffsetDelta: -8), "right before its locator")
    }

    func testZipMemberNameCaseClass_upperCaseDataPklIsScanned() throws {
        for name in ["archive/DATA.PKL", "archive/Data.Pkl", "ARCHIVE/data.PKL", "archive/constants.PKL"] {
            let members = [Hostile.ZipMember(name: name, data: evilPickle), Hostile.ZipMember(name: "archive/version", data: [0x33])]
            let report = try Hostile.scan(Hostile.zip(members), name: "model.pt")
            XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.location.hasSuffix(":\(name)") }, "\(name): \(report.findings)")
            XCTAssertEqual(report.streams.count, 1, name)
        }
        // The torch format is recognized case-insensitively too.
        let members = [Hostile.ZipMember(name: "archive/DATA.PKL", data: benignPickle), Hostile.ZipMember(name: "archive/version", data: [0x33])]
        XCTAssertEqual(try Hostile.scan(Hostile.zip(members), name: "model.pt").format, .pytorchZip)
    }

    func testZipMemberNameCaseClass_aPickleUnderAnyNameIsScanned() throws {
        let evil = Hostile.Op.proto2 + Hostile.Op.global("posix", "system") + Hostile.Op.unicode("true") + Hostile.Op.tuple1
            + Hostile.Op.reduce + Hostile.Op.stop
        let members = benignMembers() + [Hostile.ZipMember(name: "archive/extra/hooks", data: evil)]
        let report = try Hostile.scan(Hostile.zip(members), name: "model.pt")
        XCTAssertTrue(report.findings.contains { $0.kind == .dangerousGlobal && $0.location.hasSuffix(":archive/extra/hooks") }, "\(report.findings)")
    }
}
