// swift-tools-version: 6.1
//
// Library-level benchmarks for modelsec. A separate package so that the main
// package's tests do not build it; `make bench` builds it in release mode.
// Each executable prints markdown table rows (see Benchmarks/README.md).
import PackageDescription

let package = Package(
    name: "modelsec-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "modelsec", path: ".."),
    ],
    targets: [
        // One executable target per area, e.g.:
        // .executableTarget(name: "bench-tokens", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-tokens"),
        .executableTarget(name: "bench-tokens", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-tokens"),
        .executableTarget(name: "bench-dp", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-dp"),
        .executableTarget(name: "bench-store", dependencies: [.product(name: "DifferentialPrivacy", package: "modelsec"),
                                                             .product(name: "ModelSecStore", package: "modelsec"),
                                                             .product(name: "ModelSecStorePostgres", package: "modelsec")], path: "Sources/bench-store"),
        // BENCH-TARGETS (add one line per target above this marker)
    ],
    swiftLanguageModes: [.v5]
)
