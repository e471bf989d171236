// swift-tools-version: 6.1
//
// libFuzzer targets for every modelsec parser that reads untrusted bytes.
// Built by `make fuzz` with -sanitize=fuzzer,address; not part of `make test`.
// Each target's seed corpus is Fuzz/Corpus/<name>/ (valid outputs of modelsec).
import PackageDescription

let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "modelsec-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "modelsec", path: ".."),
    ],
    targets: [
        .executableTarget(name: "fuzz-keys", dependencies: [.product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-keys", swiftSettings: fuzzFlags),
        // FUZZ-TARGETS (add one target per parser above this marker)
    ],
    swiftLanguageModes: [.v5]
)
