// bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT [DATASETS]
//
// Budget charges per second and latency percentiles against one store:
// CLIENTS threads (each a real thread, so all of them are charging at
// once), each with its own ledger (its own connection), each charge its
// own request id. With DATASETS 1 (the default) every charge contends for
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

let args = CommandLine.arguments
guard args.count == 4 || args.count == 5, let clients = Int(args[2]), let perClient = Int(args[3]), clients > 0, perClient > 0,
      let datasetCount = args.count == 5 ? Int(args[4]) : 1, datasetCount > 0 else {
    FileHandle.standardError.write(Data("usage: bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT [DATASETS]\n".utf8))
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
let lock = NSLock()
var latencies: [Double] = []
var failures = 0
var firstError = ""
let ready = DispatchGroup(), done = DispatchGroup()
let go = DispatchSemaphore(value: 0)
for client in 0..<clients {
    ready.enter()
    done.enter()
    Thread {
        let ledger = ledgers[client]
        var own: [Double] = []
        own.reserveCapacity(perClient)
        ready.leave()
        go.wait()
        for i in 0..<perClient {
            let dataset = datasets[datasetCount == 1 ? 0 : Int.random(in: 0..<datasetCount)]
            let t = DispatchTime.now().uptimeNanoseconds
            let request = ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: 0.001), relation: .addRemove,
                                        mechanism: "bench", parameters: "{}")
            do { _ = try ledger.charge([request], requestID: "\(run)-\(client)-\(i)") } catch {
                lock.lock(); failures += 1; if firstError.isEmpty { firstError = "\(error)" }; lock.unlock()
            }
            own.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
        }
        lock.lock(); latencies += own; lock.unlock()
        done.leave()
    }.start()
}
ready.wait()
let start = Date()
for _ in 0..<clients { go.signal() }
done.wait()
let elapsed = Date().timeIntervalSince(start)
latencies.sort()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
if failures > 0 { FileHandle.standardError.write(Data("bench-store: \(failures) charges failed, first: \(firstError)\n".utf8)) }
if failures == latencies.count { exit(1) }
print(String(format: "%.0f %.2f %.2f %d", Double(latencies.count - failures) / elapsed, percentile(0.5), percentile(0.99), failures))
