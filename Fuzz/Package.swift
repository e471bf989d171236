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
        .executableTarget(name: "fuzz-keys", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-keys", swiftSettings: fuzzFlags),
        .target(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver", .product(name: "ModelSec", package: "modelsec")], path: "Sources/FuzzSupport"),
        .executableTarget(name: "fuzz-encrypted", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-encrypted", swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-signature", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-signature", swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-token", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-token", swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-policy", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-policy", swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-release-manifest", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-release-manifest", swiftSettings: fuzzFlags),
        .executableTarget(name: "fuzz-scanner", dependencies: ["FuzzSupport", .product(name: "ModelSec", package: "modelsec")],
                          path: "Sources/fuzz-scanner", swiftSettings: fuzzFlags),
        // FUZZ-TARGETS (add one target per parser above this marker)
    ],
    swiftLanguageModes: [.v5]
)
