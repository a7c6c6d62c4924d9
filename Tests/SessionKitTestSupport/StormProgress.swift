import Synchronization

/// How far a storm of requests got, with a wait on it that needs no polling: faults are
/// injected as the storm makes progress, not by the clock, so that a slow, loaded machine
/// still sees requests complete between them.
public final class StormProgress: Sendable {
    private struct State {
        var completed = 0
        var finished = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }
    private let state = Mutex(State())
    /// How many requests the storm makes.
    public let total: Int

    public init(total: Int) { self.total = total }

    /// Requests that returned a value so far.
    public var completed: Int { state.withLock { $0.completed } }

    /// One request returned a value.
    public func recordCompleted() { update { $0.completed += 1 } }

    /// One request ended (with a value, an error or cancelled).
    public func recordFinished() { update { $0.finished += 1 } }

    /// Returns true once `target` requests completed, or false when every request ended first.
    public func wait(forCompleted target: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool? in
                if state.completed >= target { return true }
                if state.finished >= total { return false }
                state.waiters.append((target, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func update(_ change: (inout State) -> Void) {
        let ready = state.withLock { state -> [(CheckedContinuation<Bool, Never>, Bool)] in
            change(&state)
            var ready: [(CheckedContinuation<Bool, Never>, Bool)] = []
            state.waiters.removeAll { waiter in
                if state.completed >= waiter.target {
                    ready.append((waiter.continuation, true))
                    return true
                }
                if state.finished >= total {
                    ready.append((waiter.continuation, false))
                    return true
                }
                return false
            }
            return ready
        }
        for (continuation, reached) in ready { continuation.resume(returning: reached) }
    }
}
