import Foundation
import ModelSecIO

/// Loads policies and releases and audits them: the library side of `modelsec audit`.
public enum Auditor {
    /// Loads every policy (all must be valid) and every release (all must be
    /// readable), then evaluates. Throws a `.invalidInput` error (exit 2) naming
    /// the first policy or release that cannot be read.
    public static func run(releaseDirectories: [String], policyPaths: [String],
                           loader: any ReleaseEvidenceLoader = DefaultReleaseLoading.loader,
                           now: Date = Date(), progress: ProgressReporter? = nil) throws -> AuditReport {
        let policies = try policyPaths.map { try PolicyLoader.load(path: $0) }
        let releases = try loadReleases(releaseDirectories, loader: loader, progress: progress)
        return PolicyEvaluator.audit(releases: releases, policies: policies, now: now)
    }

    /// Loads the releases, several at a time (loading reads files and, for
    /// verification, hashes them), keeping the order given.
    static func loadReleases(_ directories: [String], loader: any ReleaseEvidenceLoader,
                             progress: ProgressReporter?) throws -> [ReleaseEvidence] {
        let results = LoadResults(count: directories.count)
        DispatchQueue.concurrentPerform(iterations: directories.count) { i in
            let outcome = Result { try loader.load(directory: directories[i]) }
            results.set(i, outcome)
            progress?.advance(items: 1)
        }
        progress?.finish()
        return try results.values.map { try $0!.get() }
    }

    /// Slots filled by concurrent loads (each index written once, under a lock).
    private final class LoadResults: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [Result<ReleaseEvidence, Error>?]
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<ReleaseEvidence, Error>) { lock.lock(); storage[i] = r; lock.unlock() }
        var values: [Result<ReleaseEvidence, Error>?] { lock.lock(); defer { lock.unlock() }; return storage }
    }
}
