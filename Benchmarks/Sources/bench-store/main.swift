// bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT [DATASETS] [--async]
//
// Budget charges per second and latency percentiles against one store:
// CLIENTS clients charging at once, each with its own ledger (its own
// connection), each charge its own request id. Each client is a thread
// calling the blocking `charge`, as each pipeline is its own process; with
// `--async` (PostgreSQL only) each client is an async task calling the
// ledger's async `charge`, all of them sharing Swift's cooperative pool
// (one thread per core, as pgbench -j 2 runs its clients on two threads). With DATASETS 1 (the default) every charge contends for
// the same budget row, the worst case; with more, each charge goes to a
// random one of that many datasets (as pgbench's simple-update spreads its
// updates over many rows). Connections are opened before the clock starts.
// The store must be migrated and the password given by
// PGPASSWORD/PGPASSFILE. Prints one line: `charges/s p50-ms p99-ms failed`
// (charges that failed, e.g. SQLite's "database is locked" after its 30 s
// busy timeout; the first error goes to stderr). Exits 1 only when every
// charge failed.
import DifferentialPrivacy
import Foundation
import ModelSecStore
import ModelSecStorePostgres

var args = CommandLine.arguments
let asyncFlag = args.contains("--async")
args.removeAll { $0 == "--async" }
guard args.count == 4 || args.count == 5, let clients = Int(args[2]), let perClient = Int(args[3]), clients > 0, perClient > 0,
      let datasetCount = args.count == 5 ? Int(args[4]) : 1, datasetCount > 0 else {
    FileHandle.standardError.write(Data("usage: bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT [DATASETS] [--async]\n".utf8))
    exit(2)
}
let url = try StoreURL(parsing: args[1])
let run = UUID().uuidString
let datasets = (0..<datasetCount).map { "bench-\(run)-\($0)" }
do {
    let setup = try LedgerStores.open(url)
    for dataset in datasets { try setup.setTotal(dataset: dataset, budget: PrivacyCost(epsilon: 1e6), relation: nil) }
}
let ledgers = try (0..<clients).map { _ in try LedgerStores.open(url) }
/// Every client's latencies and failures.
final class Tally: @unchecked Sendable { // every field is touched only with `lock` held
    let lock = NSLock()
    var latencies: [Double] = []
    var failures = 0
    var firstError = ""
    /// One client's charges, timed; failures counted.
    func record(_ own: [Double], _ failed: Int, _ error: String) {
        lock.lock(); latencies += own; failures += failed; if firstError.isEmpty { firstError = error }; lock.unlock()
    }
}
let tally = Tally()
/// Client `client`'s `i`th charge and its request id.
@Sendable func request(_ client: Int, _ i: Int) -> (ChargeRequest, String) {
    let dataset = datasets[datasetCount == 1 ? 0 : Int.random(in: 0..<datasetCount)]
    return (ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: 0.001), relation: .addRemove, mechanism: "bench", parameters: "{}"),
            "\(run)-\(client)-\(i)")
}
@Sendable func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
let asyncLedgers = asyncFlag ? ledgers as? [PostgresPrivacyLedger] : nil
let start: Date
if let asyncLedgers {
    // Async clients: all tasks start together once every connection is open.
    start = Date()
    let finished = DispatchSemaphore(value: 0)
    Task {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var own: [Double] = [], failed = 0, message = ""
                    own.reserveCapacity(perClient)
                    for i in 0..<perClient {
                        let (charge, id) = request(client, i)
                        let t = nanoseconds()
                        do { _ = try await asyncLedgers[client].charge([charge], requestID: id) } catch {
                            failed += 1; if message.isEmpty { message = "\(error)" }
                        }
                        own.append(Double(nanoseconds() - t) / 1e6)
                    }
                    tally.record(own, failed, message)
                }
            }
        }
        finished.signal()
    }
    finished.wait()
} else {
    let ready = DispatchGroup(), done = DispatchGroup()
    let go = DispatchSemaphore(value: 0)
    for client in 0..<clients {
        ready.enter()
        done.enter()
        Thread {
            let ledger = ledgers[client]
            var own: [Double] = [], failed = 0, message = ""
            own.reserveCapacity(perClient)
            ready.leave()
            go.wait()
            for i in 0..<perClient {
                let (charge, id) = request(client, i)
                let t = nanoseconds()
                do { _ = try ledger.charge([charge], requestID: id) } catch {
                    failed += 1; if message.isEmpty { message = "\(error)" }
                }
                own.append(Double(nanoseconds() - t) / 1e6)
            }
            tally.record(own, failed, message)
            done.leave()
        }.start()
    }
    ready.wait()
    start = Date()
    for _ in 0..<clients { go.signal() }
    done.wait()
}
let elapsed = Date().timeIntervalSince(start)
let latencies = tally.latencies.sorted(), failures = tally.failures
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
if failures > 0 { FileHandle.standardError.write(Data("bench-store: \(failures) charges failed, first: \(tally.firstError)\n".utf8)) }
if failures == latencies.count { exit(1) }
print(String(format: "%.0f %.2f %.2f %d", Double(latencies.count - failures) / elapsed, percentile(0.5), percentile(0.99), failures))
