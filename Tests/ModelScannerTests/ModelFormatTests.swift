import Foundation
import XCTest
import TestSupport
@testable import ModelScanner

/// GGUF chat templates, ONNX external data and custom operators, Keras
/// configurations (.keras and legacy HDF5), SavedModel operations, and
/// PyTorch files under a `.bin` name, on files written by each format's own library.
final class ModelFormatTests: XCTestCase {
    private func scan(_ name: String) throws -> FileScanReport {
        ModelScanner.scanFile(at: try ModelFormatFixtures.directory().appendingPathComponent(name).path)
    }

    private func kinds(_ report: FileScanReport) -> Set<String> { Set(report.findings.map(\.kind.rawValue)) }

    func testEveryBenignSampleOfEveryFormatScansClean() throws {
        for name in ModelFormatFixtures.benign {
            let report = try scan(name)
            XCTAssertEqual(report.findings, [], "\(name): \(report.findings.map(\.message))")
        }
        XCTAssertEqual(try scan("benign.gguf").format, .gguf)
        XCTAssertEqual(try scan("onnx/benign.onnx").format, .onnx)
        XCTAssertEqual(try scan("benign.keras").format, .keras)
        XCTAssertEqual(try scan("benign.h5").format, .hdf5)
        XCTAssertEqual(try scan("tf_benign/saved_model.pb").format, .savedModel)
    }

    func testEveryMaliciousSampleOfEveryFormatIsCaught() throws {
        for (name, kind) in ModelFormatFixtures.malicious {
            let report = try scan(name)
            XCTAssertTrue(kinds(report).contains(kind), "\(name): expected \(kind), got \(report.findings.map { "\($0.kind.rawValue): \($0.message)" })")
        }
    }

    func testPyTorchFilesUnderABinNameAreToldByContent() throws {
        XCTAssertEqual(try scan("pytorch_model.bin").format, .pytorchZip)
        XCTAssertEqual(try scan("legacy_model.bin").format, .pytorchLegacy)
    }

    /// `torch.save(..., _use_new_zipfile_serialization=False, pickle_protocol=3/4)`
    /// writes the legacy layout with the magic number in that protocol: five
    /// streams, then raw storage bytes (not trailing data).
    func testLegacyTorchFilesInAnyPickleProtocolAreFollowedAsLegacyLayout() throws {
        let dir = try TestSupport.makeTemporaryDirectory("legacy-protocols")
        let script = "import torch, sys\nfor p in (2, 3, 4, 5):\n    torch.save({'w': torch.zeros(3)}, f'{sys.argv[1]}/p{p}.pt', _use_new_zipfile_serialization=False, pickle_protocol=p)\n"
        let r = try TestSupport.run(try TestSupport.python(), ["-c", script, dir.path])
        XCTAssertEqual(r.status, 0, r.stderrText)
        for p in 2...5 {
            let report = ModelScanner.scanFile(at: dir.appendingPathComponent("p\(p).pt").path)
            XCTAssertEqual(report.format, .pytorchLegacy, "protocol \(p)")
            XCTAssertEqual(report.streams.count, 5, "protocol \(p)")
            XCTAssertEqual(report.findings, [], "protocol \(p): \(report.findings.map(\.message))")
        }
    }

    func testTemplateInjectionThroughANamedTemplateIsFound() throws {
        // The default template is benign; the tool_use one reaches Python frames.
        let report = try scan("evil_cycler.gguf")
        XCTAssertTrue(report.findings.contains { $0.kind == .dangerousTemplate && $0.location.hasSuffix(":tokenizer.chat_template.tool_use") },
                      "\(report.findings.map(\.location))")
        XCTAssertEqual(report.findings.filter { $0.location.hasSuffix(":tokenizer.chat_template") }, [])
    }

    func testOnnxExternalDataInsideTheModelDirectoryPassesAndMissingDataIsAnError() throws {
        XCTAssertEqual(try scan("onnx/benign.onnx").findings, [])
        let dir = try TestSupport.makeTemporaryDirectory("onnx-missing")
        let copy = dir.appendingPathComponent("m.onnx")
        try FileManager.default.copyItem(at: try ModelFormatFixtures.directory().appendingPathComponent("onnx/benign.onnx"), to: copy)
        let report = ModelScanner.scanFile(at: copy.path)
        XCTAssertEqual(report.findings.map(\.kind), [.externalReference])
        XCTAssertEqual(report.findings.first?.severity, .error)
    }

    func testOnnxExternalDataThroughASymlinkLeavingTheDirectoryIsDangerous() throws {
        let dir = try TestSupport.makeTemporaryDirectory("onnx-link")
        let fixtures = try ModelFormatFixtures.directory()
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("onnx/benign.onnx"), to: dir.appendingPathComponent("m.onnx"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("benign.onnx_data").path, withDestinationPath: "/etc/passwd")
        let report = ModelScanner.scanFile(at: dir.appendingPathComponent("m.onnx").path)
        XCTAssertEqual(report.findings.map(\.severity), [.dangerous], "\(report.findings)")
    }

    // MARK: GGUF structure, built byte by byte

    private func gguf(version: UInt32 = 3, keys: [(String, UInt32, [UInt8])], tensors: UInt64 = 0) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var bytes = Array("GGUF".utf8) + u32(version) + u64(tensors) + u64(UInt64(keys.count))
        for (key, type, value) in keys { bytes += u64(UInt64(key.utf8.count)) + Array(key.utf8) + u32(type) + value }
        return bytes
    }

    private func ggufString(_ text: String) -> [UInt8] {
        withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian, Array.init) + Array(text.utf8)
    }

    private func scanBytes(_ bytes: [UInt8], name: String) throws -> FileScanReport {
        let url = try TestSupport.makeTemporaryDirectory("gguf").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return ModelScanner.scanFile(at: url.path)
    }

    func testGgufDuplicateKeysAreRefusedBecauseReadersKeepDifferentValues() throws {
        let template = ggufString("{{ messages }}")
        let evil = ggufString("{{ self.__init__ }}")
        let report = try scanBytes(gguf(keys: [("tokenizer.chat_template", 8, template), ("tokenizer.chat_template", 8, evil)]), name: "dup.gguf")
        XCTAssertEqual(report.findings.map(\.kind), [.malformedModel])
    }

    func testGgufLengthsBeyondTheFileAreRefusedBeforeAllocation() throws {
        let huge = withUnsafeBytes(of: UInt64.max.littleEndian, Array.init)
        for value in [huge, [4, 0, 0, 0] + huge] {   // a string, then an array of u32
            let type: UInt32 = value.count == 8 ? 8 : 9
            let report = try scanBytes(gguf(keys: [("general.name", type, value)]), name: "huge.gguf")
            XCTAssertEqual(report.findings.map(\.kind), [.malformedModel], "\(report.findings)")
        }
        let counts = try scanBytes(gguf(keys: [], tensors: 1 << 40), name: "count.gguf")
        XCTAssertEqual(counts.findings.map(\.kind), [.malformedModel])
    }

    func testGgufChatTemplateThatIsNotAStringIsAnError() throws {
        let report = try scanBytes(gguf(keys: [("tokenizer.chat_template", 4, [1, 0, 0, 0])]), name: "t.gguf")
        XCTAssertEqual(report.findings.map(\.kind), [.malformedTemplate])
    }

    // MARK: Jinja analysis

    func testJinjaSafeSubsetPassesRealTemplateIdioms() {
        let benign = [
            "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>' }}{% endfor %}",
            "{%- set ns = namespace(system='') -%}{%- if messages[0].role == 'system' -%}{%- set ns.system = messages[0].content -%}{%- endif -%}{{ ns.system }}",
            "{% macro render(t) %}{{ t | tojson(indent=4) }}{% endmacro %}{% for t in tools %}{{ render(t) }}{% endfor %}",
            "{{ messages[loop.index0 - 1]['content'].strip().split('x')[0] if messages else '' }}{% raw %}{{ __class__ }}{% endraw %}",
            "{{ strftime_now('%d %b %Y') }}{{ raise_exception('bad role') if x is not string }}",
        ]
        for template in benign {
            XCTAssertEqual(JinjaTemplateCheck.check(Array(template.utf8)), [], template)
        }
    }

    func testJinjaTemplateInjectionGadgetsAreDangerous() {
        let gadgets = [
            "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ joiner.__init__ }}", "{{ lipsum['__globals__'] }}", "{{ namespace.__init__.__globals__ }}",
            "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "{{ ''['\\x5f_class__'] }}",
            "{{ x.gi_frame.f_back.f_globals }}", "{{ '{0.x}'.format(y) }}", "{{ ('_' * 2) }}",
            "{% set k = '_' ~ '_' %}", "{{ x[a ~ b] }}", "{{ x|map(attribute=k) }}", "{% import 'x' as y %}",
            "{{ config.items() }}", "{{ foo() }}", "{{ x.mro() }}", "{{ (x)() }}", "{{ '%c%c' % (95, 95) }}",
        ]
        for template in gadgets {
            let problems = JinjaTemplateCheck.check(Array(template.utf8))
            XCTAssertTrue(problems.contains { $0.severity == .dangerous }, "\(template): \(problems)")
        }
    }

    func testJinjaTemplatesThatDoNotParseAreErrors() {
        for template in ["{{ x ", "{% if x %}", "{% endfor %}", "{{ 'a }}", "{% do x.append(1) %}", "{{ (x] }}", "{# open", "{{ x ; y }}"] {
            let problems = JinjaTemplateCheck.check(Array(template.utf8))
            XCTAssertEqual(problems.map(\.severity), [.error], template)
        }
    }

    // MARK: unknown formats

    func testUnknownFormatsAreNamedFromTheirMagicAndStillFail() throws {
        let report = try scanBytes([0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0x41, count: 100), name: "model.joblib.gz")
        XCTAssertEqual(report.findings.map(\.kind), [.unknownFormat])
        XCTAssertTrue(report.findings[0].message.contains("gzip"), report.findings[0].message)
    }

    func testAnHdf5SuperblockAfterAUserBlockIsAPolyglotError() throws {
        // A pickle (what torch/pickle read) with an HDF5 superblock at 512 (what h5py reads).
        var bytes: [UInt8] = [0x80, 0x02, 0x4E, 0x2E] + Array(repeating: 0, count: 508)
        bytes += Hdf5Checker.signature + Array(repeating: 0, count: 200)
        let report = try scanBytes(bytes, name: "model.pkl")
        XCTAssertTrue(report.findings.contains { $0.kind == .malformedArchive && $0.message.contains("HDF5") }, "\(report.findings)")
    }
}
