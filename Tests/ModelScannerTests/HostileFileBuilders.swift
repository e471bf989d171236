import Foundation
import TestSupport
import XCTest
@testable import ModelScanner

/// Byte-level builders for hostile model files (pickles, .npy, zip, tar), so
/// each regression test spells out exactly the bytes of its attack.
enum Hostile {
    // MARK: pickles

    /// `cos\nsystem\n(S'<command>'\ntR.`: a protocol 0 pickle that calls os.system.
    static func systemPickle(_ command: String = "true") -> [UInt8] {
        Array("cos\nsystem\n(S'\(command)'\ntR.".utf8)
    }

    /// Opcode helpers (protocol 2+ encodings).
    enum Op {
        static func global(_ module: String, _ name: String) -> [UInt8] { Array("c\(module)\n\(name)\n".utf8) }
        static func unicode(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            return [0x58] + u32(UInt32(bytes.count)) + bytes                  // BINUNICODE
        }
        static func int(_ value: Int) -> [UInt8] { [0x4A] + u32(UInt32(bitPattern: Int32(value))) }   // BININT
        static let mark: [UInt8] = [0x28], none: [UInt8] = [0x4E], newTrue: [UInt8] = [0x88], newFalse: [UInt8] = [0x89]
        static let emptyTuple: [UInt8] = [0x29], emptyDict: [UInt8] = [0x7D], tuple: [UInt8] = [0x74]
        static let tuple1: [UInt8] = [0x85], tuple3: [UInt8] = [0x87], setItems: [UInt8] = [0x75]
        static let reduce: [UInt8] = [0x52], build: [UInt8] = [0x62], newObj: [UInt8] = [0x81], stop: [UInt8] = [0x2E]
        static let pop: [UInt8] = [0x30], proto2: [UInt8] = [0x80, 0x02], stackGlobal: [UInt8] = [0x93], memoize: [UInt8] = [0x94]
        static func binPut(_ index: UInt8) -> [UInt8] { [0x71, index] }
        static func binGet(_ index: UInt8) -> [UInt8] { [0x68, index] }
        static func frame(_ length: Int) -> [UInt8] { [0x95] + u64(UInt64(length)) }
    }

    /// `numpy.dtype(code, False, True)` followed by BUILD with numpy's state tuple.
    static func dtype(_ code: String, byteOrder: String = "|", elsize: Int, flags: Int) -> [UInt8] {
        Op.global("numpy", "dtype") + Op.mark + Op.unicode(code) + Op.newFalse + Op.newTrue + Op.tuple + Op.reduce
            + Op.mark + Op.int(3) + Op.unicode(byteOrder) + Op.none + Op.none + Op.none + Op.int(elsize) + Op.int(1) + Op.int(flags)
            + Op.tuple + Op.build
    }

    /// A joblib `NumpyArrayWrapper` (NEWOBJ + BUILD with a state dict) whose
    /// `dtype` value is `dtypeBytes`, shape `(count,)`, no alignment padding.
    /// Joblib reads the array data right after the returned bytes.
    static func numpyArrayWrapper(dtypeBytes: [UInt8], count: Int) -> [UInt8] {
        var bytes = Op.global("joblib.numpy_pickle", "NumpyArrayWrapper") + Op.emptyTuple + Op.newObj + Op.emptyDict + Op.mark
        bytes += Op.unicode("subclass") + Op.global("numpy", "ndarray")
        bytes += Op.unicode("shape") + Op.int(count) + Op.tuple1
        bytes += Op.unicode("order") + Op.unicode("C")
        bytes += Op.unicode("dtype") + dtypeBytes
        bytes += Op.unicode("allow_mmap") + Op.newFalse
        bytes += Op.unicode("numpy_array_alignment_bytes") + Op.none
        return bytes + Op.setItems + Op.build
    }

    /// A joblib `NDArrayWrapper` built with NEWOBJ + BUILD that makes joblib load `filename`.
    static func ndArrayWrapperPickle(filename: String) -> [UInt8] {
        var bytes = Op.proto2 + Op.global("joblib.numpy_pickle", "NDArrayWrapper") + Op.emptyTuple + Op.newObj + Op.emptyDict + Op.mark
        bytes += Op.unicode("filename") + Op.unicode(filename)
        bytes += Op.unicode("subclass") + Op.global("numpy", "ndarray")
        bytes += Op.unicode("allow_mmap") + Op.newFalse
        return bytes + Op.setItems + Op.build + Op.stop
    }

    // MARK: .npy

    /// A version 1.0 .npy file whose header holds `descr` (a Python literal) and `payload` after it.
    static func npy(descr: String, shape: String = "(1,)", payload: [UInt8]) -> [UInt8] {
        npy(header: "{'descr': \(descr), 'fortran_order': False, 'shape': \(shape), }", payload: payload)
    }

    /// A version 1.0 .npy file with the header dict literal `header` (padded as numpy pads it).
    static func npy(header dict: String, payload: [UInt8]) -> [UInt8] {
        var header = dict
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        return [0x93] + Array("NUMPY".utf8) + [1, 0] + u16(UInt16(header.utf8.count)) + Array(header.utf8) + payload
    }

    // MARK: zip

    /// One member of a hand-built zip archive.
    struct ZipMember {
        var name: String
        var data: [UInt8]
        var flags: UInt16 = 0
        /// Overrides of what the local header says (nil: same as the central directory).
        var localName: String?
        var localFlags: UInt16?
        var localSize: UInt32?
        /// Bytes written before the local header that no directory entry lists.
        var hiddenBefore: [UInt8] = []
        /// Whether a data descriptor (with signature, 32-bit sizes) follows the data.
        var dataDescriptor = false
    }

    /// A stored (uncompressed) zip archive: local headers, central directory,
    /// end record with `comment`. `prefix` bytes are written first, and all
    /// offsets count from the start of the file.
    static func zip(_ members: [ZipMember], comment: [UInt8] = [], prefix: [UInt8] = []) -> [UInt8] {
        var out = prefix
        var central: [UInt8] = []
        for member in members {
            out += member.hiddenBefore
            let offset = UInt32(out.count)
            let crc = CRC32.checksum(member.data)
            let name = Array(member.name.utf8), localName = Array((member.localName ?? member.name).utf8)
            let size = UInt32(member.data.count)
            out += u32(0x0403_4B50) + u16(20) + u16(member.localFlags ?? member.flags) + u16(0) + u16(0) + u16(0)
                + u32(crc) + u32(member.localSize ?? size) + u32(member.localSize ?? size) + u16(UInt16(localName.count)) + u16(0)
                + localName + member.data
            if member.dataDescriptor { out += u32(0x0807_4B50) + u32(crc) + u32(size) + u32(size) }
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(member.flags) + u16(0) + u16(0) + u16(0)
                + u32(crc) + u32(size) + u32(size) + u16(UInt16(name.count)) + u16(0) + u16(0) + u16(0) + u16(0)
                + u32(0) + u32(offset) + name
        }
        let cdOffset = UInt32(out.count)
        out += central
        out += endRecord(entries: members.count, cdSize: central.count, cdOffset: Int(cdOffset), comment: comment)
        return out
    }

    /// A classic end-of-central-directory record.
    static func endRecord(entries: Int, cdSize: Int, cdOffset: Int, comment: [UInt8]) -> [UInt8] {
        u32(0x0605_4B50) + u16(0) + u16(0) + u16(UInt16(entries)) + u16(UInt16(entries))
            + u32(UInt32(cdSize)) + u32(UInt32(cdOffset)) + u16(UInt16(comment.count)) + comment
    }

    // MARK: tar

    /// A 512-byte tar header (v7 layout; `ustar` adds the POSIX magic) with a valid checksum.
    static func tarHeader(name: String, size: Int, type: UInt8 = UInt8(ascii: "0"), ustar: Bool = true, linkName: String = "") -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (i, b) in text.utf8.enumerated() { block[offset + i] = b } }
        put(name, at: 0)
        put("0000644\0", at: 100)
        put("0000000\0", at: 108)
        put("0000000\0", at: 116)
        put(String(format: "%011o\0", size), at: 124)
        put("00000000000\0", at: 136)
        block[156] = type
        put(linkName, at: 157)
        if ustar { put("ustar\u{0}00", at: 257) }
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o\0 ", sum), at: 148)
        return block
    }

    /// A tar archive of regular files (data padded to 512 bytes, two NUL blocks at the end).
    static func tar(_ members: [(String, [UInt8])], ustar: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in members {
            out += tarHeader(name: name, size: data.count, ustar: ustar) + data
            out += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    // MARK: little-endian helpers

    static func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    // MARK: writing and scanning

    /// Writes `bytes` as `name` in a new temporary directory and returns the file's path.
    static func write(_ bytes: [UInt8], name: String, in directory: URL? = nil) throws -> String {
        let dir = try directory ?? TestSupport.makeTemporaryDirectory("hostile")
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Scans `bytes` written as `name`.
    static func scan(_ bytes: [UInt8], name: String) throws -> FileScanReport {
        ModelScanner.scanFile(at: try write(bytes, name: name))
    }
}

/// Runs a real loader (numpy, joblib, pickle, zipfile, tarfile) on a file in a
/// Python process guarded by an audit hook: `os.system` is recorded and
/// blocked (the hook raises), and opens of paths ending in `watch` are recorded.
enum RealLoader {
    struct Outcome {
        /// `os.system` commands the loader reached.
        let systemCalls: [String]
        /// Watched paths the loader opened.
        let opened: [String]
        /// The exception the load ended with, if any.
        let error: String?
        /// What the check printed besides (e.g. the names a zip reader lists).
        let detail: String
    }

    static let script = #"""
import io, json, os, pickle, sys, tarfile, zipfile
import numpy as np
import joblib
loader, path, watch = sys.argv[1], sys.argv[2], sys.argv[3]
calls, opened, detail = [], [], []
def hook(event, args):
    if event == "os.system":
        calls.append(args[0].decode() if isinstance(args[0], bytes) else str(args[0]))
        raise RuntimeError("os.system blocked by the test's audit hook")
    if event == "open" and watch and isinstance(args[0], (str, bytes, os.PathLike)) and os.fsdecode(args[0]).endswith(watch):
        opened.append(os.fsdecode(args[0]))
sys.addaudithook(hook)
error = None
try:
    if loader == "numpy":
        result = np.load(path, allow_pickle=True)
        if hasattr(result, "files"):
            detail.append(",".join(result.files))
            for key in result.files:
                result[key]
    elif loader == "joblib":
        joblib.load(path)
    elif loader == "pickle":
        with open(path, "rb") as f:
            pickle.load(f)
    elif loader == "zipfile":
        with zipfile.ZipFile(path) as z:
            detail.append(",".join(z.namelist()))
            for name in z.namelist():
                if name.lower().endswith(".pkl"):
                    pickle.loads(z.read(name))
    elif loader == "tarfile":
        # What torch's legacy_load does first: tarfile.open(mode="r:"), then unpickle the `pickle` member.
        with tarfile.open(path, mode="r:") as tar:
            detail.append(",".join(tar.getnames()))
            pickle.load(tar.extractfile("pickle"))
except BaseException as e:
    error = repr(e)
print(json.dumps({"calls": calls, "opened": opened, "error": error, "detail": ";".join(detail)}))
"""#

    /// Loads `path` with `loader` (`numpy`, `joblib`, `pickle`, `zipfile`, `tarfile`).
    static func load(_ path: String, with loader: String, watch: String = "") throws -> Outcome {
        let python = try TestSupport.python()
        let result = try TestSupport.run(python, ["-c", script, loader, path, watch])
        guard result.status == 0,
              let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] else {
            throw ScannerFixtures.FixtureError(message: "loader check failed: \(result.stderrText)")
        }
        return Outcome(systemCalls: json["calls"] as? [String] ?? [], opened: json["opened"] as? [String] ?? [],
                       error: json["error"] as? String, detail: json["detail"] as? String ?? "")
    }
}

extension FileScanReport {
    /// The kinds of the findings, most severe first.
    var kinds: [FindingKind] { findings.map(\.kind) }
    /// Whether some finding is dangerous.
    var hasDangerous: Bool { findings.contains { $0.severity == .dangerous } }
}
