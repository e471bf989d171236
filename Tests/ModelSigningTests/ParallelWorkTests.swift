import Foundation
import ModelSecIO
import XCTest

/// The shared parallel-for (``ParallelWork``) that hashing, encryption and
/// release jobs run on.
final class ParallelWorkTests: XCTestCase {
    /// Per-lane and per-index bookkeeping checked after the run.
    final class Record: @unchecked Sendable { // every field is guarded by `lock`
        let lock = NSLock()
        var seen: [Int] = []
        var busyLanes = Set<Int>()
        var laneOverlap = false
        var maxLane = -1

        func enter(_ lane: Int) {
            lock.lock(); defer { lock.unlock() }
            if !busyLanes.insert(lane).inserted { laneOverlap = true }
            maxLane = max(maxLane, lane)
        }

        func leave(_ lane: Int, index: Int) {
            lock.lock(); defer { lock.unlock() }
            busyLanes.remove(lane)
            seen.append(index)
        }
    }

    func testEveryJobRunsOnceAndALaneRunsOneJobAtATime() throws {
        for (count, lanes) in [(0, 4), (1, 4), (7, 1), (100, 3), (1000, 8)] {
            let record = Record()
            try ParallelWork.forEach(count: count, lanes: lanes) { index, lane in
                record.enter(lane.index)
                if index % 7 == 0 { usleep(200) }
                record.leave(lane.index, index: index)
            }
            XCTAssertEqual(record.seen.sorted(), Array(0..<count), "\(count) jobs on \(lanes) lanes")
            XCTAssertFalse(record.laneOverlap, "two jobs ran on one lane at once")
            XCTAssertLessThan(record.maxLane, max(1, min(lanes, count)))
        }
    }

    func testMapKeepsIndexOrder() throws {
        XCTAssertEqual(try ParallelWork.map(count: 500, lanes: 4) { $0 * $0 }, (0..<500).map { $0 * $0 })
        XCTAssertEqual(try ParallelWork.map(count: 0) { $0 }, [])
    }

    struct Boom: Error, Equatable { let index: Int }

    func testTheFirstErrorStopsTheRestAndIsRethrown() {
        let record = Record()
        XCTAssertThrowsError(try ParallelWork.forEach(count: 10_000, lanes: 4) { index, lane in
            if index == 10 { throw Boom(index: index) }
            // Jobs that stop because another failed report cancellation; the cause wins.
            if lane.isStopping { throw CancellationError() }
            record.leave(lane.index, index: index)
        }) { XCTAssertEqual($0 as? Boom, Boom(index: 10)) }
        XCTAssertLessThan(record.seen.count, 9_999, "jobs not yet started are skipped after a failure")
    }
}
