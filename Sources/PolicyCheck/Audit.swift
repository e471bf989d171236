import Foundation
import ModelSecIO

/// Loads policies and releases and audits them: the library side of `modelsec audit`.
public enum Auditor {
    /// Loads every policy (all must be valid) and every release, then
    /// evaluates. Throws a `PolicyError` or `FileError` (`.invalidInput`)
    /// naming the first policy that cannot be used; a directory that cannot
    /// be read as a release does not stop the audit: it becomes one failed
    /// `release-readable` result. Signature rules use `trust` in place of the
    /// policies' keys when it is given.
    public static func run(releaseDirectories: [String], policyPaths: [String],
                           loader: any ReleaseEvidenceLoader = DefaultReleaseLoading.loader,
                           now: Date = Date(), trust: AuditTrust? = nil, progress: ProgressReporter? = nil) throws -> AuditReport {
        let policies = try policyPaths.map { try PolicyLoader.load(path: $0) }
        let subjects = loadReleases(releaseDirectories, loader: loader, progress: progress)
        return PolicyEvaluator.audit(subjects: subjects, policies: policies, now: now, trust: trust)
    }

    /// Loads the releases, several at a time (loading reads files and, for
    /// verification, hashes them), keeping the order given. A directory that
    /// fails to load is an `.unreadable` subject.
    static func loadReleases(_ directories: [String], loader: any ReleaseEvidenceLoader,
                             progress: ProgressReporter?) -> [AuditSubject] {
        let results = LoadResults(count: directories.count)
        DispatchQueue.concurrentPerform(iterations: directories.count) { i in
            let outcome: AuditSubject
            do {
                outcome = .release(try loader.load(directory: directories[i]))
            } catch {
                outcome = .unreadable(UnreadableRelease(directory: directories[i], error: error))
            }
            results.set(i, outcome)
            progress?.advance(items: 1)
        }
        progress?.finish()
        return results.values.map { $0! }
    }

    /// Slots filled by concurrent loads (each index written once).
    /// `@unchecked Sendable`: every access to `storage` holds `lock`.
    private final class LoadResults: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [AuditSubject?]
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: AuditSubject) { lock.lock(); storage[i] = r; lock.unlock() }
        var values: [AuditSubject?] { lock.lock(); defer { lock.unlock() }; return storage }
    }
}
