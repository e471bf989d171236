// swift-tools-version: 6.1
//
// Library-level benchmarks for modelsec. A separate package so that the main
// package's tests (and CI's build) do not build it.
// - `make bench` builds it in release mode; each bench-* executable prints
//   markdown table rows (see Benchmarks/README.md).
// - `make bench-check` runs the deterministic guards: the ordo-one `HotPaths`
//   benchmark (allocation thresholds in Thresholds/) and `hotpath-instructions`
//   under callgrind (instruction thresholds in instruction-thresholds.txt), both
//   over the workloads in Sources/HotPathWorkloads.
import PackageDescription

let package = Package(
    name: "modelsec-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "modelsec", path: ".."),
        // Allocation counting through malloc-interposer (no jemalloc needed).
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // One executable target per area, e.g.:
        // .executableTarget(name: "bench-tokens", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-tokens"),
        .executableTarget(name: "bench-tokens", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-tokens"),
        .executableTarget(name: "bench-dp", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/bench-dp"),
        .executableTarget(name: "bench-store", dependencies: [.product(name: "DifferentialPrivacy", package: "modelsec"),
                                                             .product(name: "ModelSecStore", package: "modelsec"),
                                                             .product(name: "ModelSecStorePostgres", package: "modelsec")], path: "Sources/bench-store"),
        .target(name: "HotPathWorkloads", dependencies: [.product(name: "ModelSec", package: "modelsec")], path: "Sources/HotPathWorkloads"),
        .executableTarget(name: "hotpath-instructions", dependencies: ["HotPathWorkloads"], path: "Sources/hotpath-instructions"),
        .executableTarget(name: "HotPaths", dependencies: ["HotPathWorkloads", .product(name: "Benchmark", package: "benchmark")],
                          path: "Benchmarks/HotPaths", plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // BENCH-TARGETS (add one line per target above this marker)
    ],
    swiftLanguageModes: [.v5]
)
