// hotpath-instructions NAME REPEATS: prepares the hot path NAME (see
// HotPathWorkloads) and runs it REPEATS times. Benchmarks/bench-check.sh runs
// it under `valgrind --tool=callgrind` with REPEATS 1 and 3: the difference of
// the two instruction totals, halved, is the instruction count of one run,
// without process start-up and preparation. Instruction counts do not depend
// on what else the machine is doing, so they can be checked against a threshold.
import Foundation
import HotPathWorkloads

let args = CommandLine.arguments
if args.count == 2 && args[1] == "--list" {
    for path in HotPaths.all { print(path.name) }
    exit(0)
}
guard args.count == 3, let repeats = Int(args[2]), repeats > 0 else {
    FileHandle.standardError.write(Data("usage: hotpath-instructions NAME REPEATS\n   or: hotpath-instructions --list\n".utf8))
    exit(2)
}
guard let path = HotPaths.all.first(where: { $0.name == args[1] }) else {
    FileHandle.standardError.write(Data("hotpath-instructions: no hot path \(args[1])\n".utf8))
    exit(2)
}
do {
    let work = try path.prepare(try Fixtures.fromEnvironment())
    for _ in 0..<repeats { try work() }
} catch {
    FileHandle.standardError.write(Data("hotpath-instructions: \(path.name): \(error)\n".utf8))
    exit(1)
}
