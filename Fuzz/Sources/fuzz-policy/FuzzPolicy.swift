import FuzzSupport
import ModelSec

/// Policy YAML: loading with line-numbered diagnostics (Yams underneath).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    _ = PolicyLoader.lint(text: text, path: "fuzz.yaml", sha256: "", baseDirectory: FuzzSupport.scratch)
    return 0
}

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_policy_main")
public func fuzzPolicyMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzPolicy(UnsafeRawPointer(data), size)
    }
}
