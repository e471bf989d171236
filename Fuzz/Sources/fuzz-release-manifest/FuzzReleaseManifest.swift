import FuzzSupport
import Foundation
import ModelSec

/// release.json: decoding and validation of a release manifest.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReleaseManifest(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = Data(UnsafeRawBufferPointer(start: data, count: size))
    if let manifest = try? ReleaseManifest(jsonData: bytes) { _ = try? manifest.encoded() }
    _ = try? JSONValue(parsing: bytes)
    return 0
}

/// The executable's entry point (see CFuzzDriver): hands control to libFuzzer.
@_cdecl("fuzz_release_manifest_main")
public func fuzzReleaseManifestMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzSupport.runFuzzer(argc, argv) { data, size in
        // libFuzzer passes a valid pointer even for empty inputs; guard anyway.
        guard let data else { return 0 }
        return fuzzReleaseManifest(UnsafeRawPointer(data), size)
    }
}
