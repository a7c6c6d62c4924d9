import Synchronization

/// What a client knows about one server's reachability, shared by the connection slots to it:
/// after a failed connect, every slot fails fast until the jittered, growing backoff has passed.
/// Consecutive failures are counted (memcached takes a server off its ring after several).
@_spi(Engine) public final class ServerHealth: Sendable {
    private struct State {
        var failures = 0
        var downUntil: Deadline?
        var lastError: (any Error)?
    }
    private let state = Mutex(State())
    private let backoff: Backoff

    @_spi(Engine) public init(backoff: Backoff) { self.backoff = backoff }

    /// The last connect error and the time left before the next attempt, while backing off.
    @_spi(Engine) public func backingOff() -> (error: any Error, remaining: Duration)? {
        state.withLock { state in
            guard let until = state.downUntil, let error = state.lastError, Deadline.now() < until else { return nil }
            return (error, until.remaining)
        }
    }

    /// Consecutive failed connection attempts.
    @_spi(Engine) public var consecutiveFailures: Int { state.withLock { $0.failures } }

    @_spi(Engine) public func recordSuccess() {
        state.withLock { state in
            state.failures = 0
            state.downUntil = nil
            state.lastError = nil
        }
    }

    /// Records a failed attempt and returns the number of consecutive failures.
    @discardableResult
    @_spi(Engine) public func recordFailure(_ error: any Error) -> Int {
        state.withLock { state in
            let delay = backoff.delay(attempt: state.failures)
            state.failures += 1
            state.downUntil = .after(delay)
            state.lastError = error
            return state.failures
        }
    }
}
