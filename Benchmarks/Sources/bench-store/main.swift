// bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT
//
// Budget charges per second and latency percentiles against one store:
// CLIENTS threads, each with its own ledger (its own connection), charge
// one shared dataset (so every charge contends for the same budget row, the
// worst case), each charge its own request id. The store must be migrated
// and the password given by PGPASSWORD/PGPASSFILE. Prints one line:
// `charges/s p50-ms p99-ms`.
import DifferentialPrivacy
import Foundation
import ModelSecStore
import ModelSecStorePostgres

let args = CommandLine.arguments
guard args.count == 4, let clients = Int(args[2]), let perClient = Int(args[3]), clients > 0, perClient > 0 else {
    FileHandle.standardError.write(Data("usage: bench-store STORE-URL CLIENTS CHARGES-PER-CLIENT\n".utf8))
    exit(2)
}
let url = try StoreURL(parsing: args[1])
let dataset = "bench-\(UUID().uuidString)"
try LedgerStores.open(url).setTotal(dataset: dataset, budget: PrivacyCost(epsilon: 1e6), relation: nil)
let lock = NSLock()
var latencies: [Double] = []
var failures = 0
let start = Date()
DispatchQueue.concurrentPerform(iterations: clients) { client in
    guard let ledger = try? LedgerStores.open(url) else { lock.lock(); failures += perClient; lock.unlock(); return }
    var own: [Double] = []
    for i in 0..<perClient {
        let t = DispatchTime.now().uptimeNanoseconds
        let request = ChargeRequest(dataset: dataset, cost: PrivacyCost(epsilon: 0.001), relation: .addRemove,
                                    mechanism: "bench", parameters: "{}")
        if (try? ledger.charge([request], requestID: "\(dataset)-\(client)-\(i)")) == nil { lock.lock(); failures += 1; lock.unlock() }
        own.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
    }
    lock.lock(); latencies += own; lock.unlock()
}
let elapsed = Date().timeIntervalSince(start)
latencies.sort()
func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
if failures > 0 { FileHandle.standardError.write(Data("bench-store: \(failures) charges failed\n".utf8)); exit(1) }
print(String(format: "%.0f %.2f %.2f", Double(latencies.count) / elapsed, percentile(0.5), percentile(0.99)))
