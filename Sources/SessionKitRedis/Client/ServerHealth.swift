import SessionKit
import SessionKitNetworking
import Synchronization

/// What the client knows about the server's reachability, shared by its connection slots: after
/// a failed connect, every slot fails fast until the jittered, growing backoff has passed.
final class ServerHealth: Sendable {
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

    func recordSuccess() {
        state.withLock { state in
            state.failures = 0
            state.downUntil = nil
            state.lastError = nil
        }
    }

    func recordFailure(_ error: SessionError) {
        state.withLock { state in
            let delay = backoff.delay(attempt: state.failures)
            state.failures += 1
            state.downUntil = .after(delay)
            state.lastError = error
        }
    }
}
