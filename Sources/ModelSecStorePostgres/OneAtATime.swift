import Synchronization

/// Lets one operation at a time use a session's connection, in the order
/// they asked. A PostgreSQL session is one transaction state: two
/// operations interleaving their statements on it would run inside each
/// other's transactions (a charge acknowledged, then rolled back by the
/// other's ROLLBACK). Written here because the standard library has no
/// async mutex and PostgresNIO serialises statements, not operations.
final class OneAtATime: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// Waits for the turn (immediately when nobody holds it).
    func acquire() async {
        if state.withLock({ s in
            guard !s.busy else { return false }
            s.busy = true
            return true
        }) { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.busy else {
                    s.busy = true
                    return true
                }
                s.waiting.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    /// Ends the turn: the longest waiter gets it, or it is free.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiting.isEmpty else {
                s.busy = false
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}
