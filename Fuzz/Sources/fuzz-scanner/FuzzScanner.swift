import FuzzSupport
import ModelSec

/// The model scanner: pickle streams, zip archives (PyTorch, .npz), .npy and
/// .safetensors, detected by content. Each input is scanned under several names.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScanner(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    for name in ["input.pkl", "input.pt", "input.npy", "input.safetensors"] {
        _ = ModelScanner.scanFile(at: FuzzSupport.scratchFile(name, buffer))
    }
    return 0
}

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_scanner_main")
public func fuzzScannerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzScanner(UnsafeRawPointer(data), size)
    }
}
