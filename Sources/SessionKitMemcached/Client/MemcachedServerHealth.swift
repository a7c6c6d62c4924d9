import SessionKit
import SessionKitNetworking
import Synchronization

/// What the client knows about one server's reachability, shared by its connection slots:
/// after a failed connect every slot fails fast until the jittered, growing backoff has
/// passed, and consecutive failures are counted for ejection from the ring.
final class MemcachedServerHealth: Sendable {
    private struct State {
        var failures = 0
        var downUntil: Deadline?
        var lastError: SessionError?
    }
    private let state = Mutex(State())
    private let backoff: Backoff

    init(backoff: Backoff) { self.backoff = backoff }

    /// The error to fail fast with, while backing off.
    func failFastError() -> SessionError? {
        state.withLock { state in
            guard let until = state.downUntil, let error = state.lastError, Deadline.now() < until else { return nil }
            let left = Int(until.remaining.milliseconds.rounded(.up))
            return SessionError(error.code, "\(error.message). Failing fast for another \(left) ms before the next reconnect attempt")
        }
    }

    /// Consecutive failed connection attempts.
    var consecutiveFailures: Int { state.withLock { $0.failures } }

    func recordSuccess() {
        state.withLock { state in
            state.failures = 0
            state.downUntil = nil
            state.lastError = nil
        }
    }

    /// Records a failed attempt and returns the number of consecutive failures.
    @discardableResult
    func recordFailure(_ error: SessionError) -> Int {
        state.withLock { state in
            let delay = backoff.delay(attempt: state.failures)
            state.failures += 1
            state.downUntil = .after(delay)
            state.lastError = error
            return state.failures
        }
    }
}
