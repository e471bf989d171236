#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// Temporary outputs to remove if the process is interrupted.
///
/// Writers register each temporary file or staging directory while it
/// exists and unregister it once it is renamed into place or removed. A
/// front end that calls ``installSignalHandlers()`` then removes whatever is
/// still registered when SIGINT, SIGTERM or SIGHUP arrives, and exits with
/// 128 + the signal number, so an interrupted command leaves nothing behind
/// (SIGKILL cannot be caught: leftovers are named `.NAME.modelsec-tmp-…`).
///
/// This is process-wide state by necessity: a signal belongs to the process,
/// not to any one call.
public enum CleanupOnSignal {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [Int: (path: String, isDirectory: Bool)] = [:]
    nonisolated(unsafe) private static var nextToken = 0
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Registers `path` for removal on a signal; returns the token that unregisters it.
    public static func register(_ path: String, isDirectory: Bool) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        paths[nextToken] = (path, isDirectory)
        return nextToken
    }

    /// Forgets a registration (the path was renamed into place or removed).
    public static func unregister(_ token: Int) {
        lock.lock()
        paths[token] = nil
        lock.unlock()
    }

    /// Routes SIGINT, SIGTERM and SIGHUP to a handler that removes every
    /// registered path and exits with 128 + the signal. Call once, early.
    public static func installSignalHandlers() {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                removeRegistered()
                _exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Removes every registered path now.
    static func removeRegistered() {
        lock.lock()
        let all = Array(paths.values)
        paths.removeAll()
        lock.unlock()
        for entry in all {
            if entry.isDirectory {
                try? FileManager.default.removeItem(atPath: entry.path)
            } else {
                unlink(entry.path)
            }
        }
    }
}
