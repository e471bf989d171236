// Allocation guards for the library's hot paths (ordo-one/benchmark).
// `make bench-check` runs `swift package benchmark thresholds check`, which
// fails when a path allocates more than Benchmarks/Thresholds records.
// Allocation counts are deterministic, unlike time on a shared machine, so
// the tolerance is small; time is left to `make bench`, which compares with
// the peers in the same run.
// After an intended change: `make bench-check-update`, and commit the new
// thresholds with the reason.
import Benchmark
import Foundation
import HotPathWorkloads

let benchmarks: @Sendable () -> Void = {
    let fixtures: Fixtures
    do { fixtures = try Fixtures.fromEnvironment() } catch { fatalError("\(error)") }
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 20,
        thresholds: [
            // A few allocations either way are noise from the runtime's
            // lazily created metadata; a per-chunk or per-token allocation
            // shows up as hundreds.
            .mallocCountTotal: .init(relative: [.p90: 2.0], absolute: [.p90: 4]),
        ]
    )
    for path in HotPaths.all {
        let work: @Sendable () throws -> Void
        do { work = try path.prepare(fixtures) } catch { fatalError("\(path.name): \(error)") }
        Benchmark(path.name) { benchmark in
            for _ in benchmark.scaledIterations {
                try work()
            }
        }
    }
}
