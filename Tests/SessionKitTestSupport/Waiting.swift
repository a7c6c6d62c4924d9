import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The only places where the test suites wait on real time, other than the Redis and memcached
// TTL checks (`ConformanceTime.serverClock`): events inside a test are ordered with gates
// (continuations, counters, conditions), never with a pause.
//
// - ``Poll``: a bounded poll of state that gives no notification: an external process (a
//   server starting, a cluster converging, a child exiting), the kernel (/proc, a lock
//   waiter), or a client reconnecting to such a process. The pause between looks is not what
//   makes the test pass; the condition is.
// - ``withDeadline(_:_:_:)``: a hang guard that turns a hang into a failure.
// - ``Pace``: real-time pauses that are themselves the behaviour under test: the pacing of a
//   load generator, the length of a simulated stall or outage, a random moment to cancel or
//   kill at in a chaos run.

/// A bounded poll of external state (see above): `until` looks at `condition` every
/// `interval` until it holds, and throws ``FixtureError`` once `limit` has passed.
public enum Poll {
    /// Polls until `condition` holds; an error thrown by `condition` ends the poll.
    public static func until(_ what: String, within limit: Duration = .seconds(20), every interval: Duration = .milliseconds(20),
                             _ condition: () async throws -> Bool) async throws {
        if try await holds(within: limit, every: interval, condition) { return }
        throw FixtureError("\(what) did not happen within \(limit)")
    }

    /// Runs `attempt` until it returns without throwing (a server that is still starting or
    /// a client still reconnecting); throws the last error, with `what`, once `limit` passed.
    @discardableResult
    public static func retrying<T>(_ what: String, within limit: Duration = .seconds(20), every interval: Duration = .milliseconds(20),
                                   _ attempt: () async throws -> T) async throws -> T {
        var lastError: (any Error)?
        var value: T?
        _ = try await holds(within: limit, every: interval) {
            do {
                value = try await attempt()
                return true
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = error
                return false
            }
        }
        if let value { return value }
        throw FixtureError("\(what) kept failing for \(limit): \(lastError.map { "\($0)" } ?? "")")
    }

    /// Whether `condition` held within `limit` (for callers that report the failure themselves).
    public static func holds(within limit: Duration, every interval: Duration = .milliseconds(20),
                             _ condition: () async throws -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: limit)
        while true {
            if try await condition() { return true }
            if clock.now >= end { return false }
            // Bounded poll of an external process's (or the kernel's) state, which sends no
            // notification a gate could wait on; the pause orders nothing.
            try await Task.sleep(for: interval)
        }
    }

    /// ``holds(within:every:_:)`` for a thread that may not suspend (a `defer`, a fixture
    /// thread): blocks between looks.
    public static func blockingHolds(within limit: Duration, every interval: Duration = .milliseconds(10), _ condition: () -> Bool) -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: limit)
        while true {
            if condition() { return true }
            if clock.now >= end { return false }
            // Bounded poll, as above, of file-system state another thread changes without
            // notice (see FilesystemTestDirectory.remove).
            usleep(useconds_t(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000))
        }
    }
}

/// Runs `body` with a deadline: a hung operation fails the test instead of hanging the run.
/// Nothing is ordered by it; it only bounds how long a broken build can hang.
public func withDeadline<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await HangGuard.expiry(limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw FixtureError("\(what) did not finish within \(limit)")
        }
        return value
    }
}

/// The timer behind ``withDeadline(_:_:_:)`` and other hang guards.
public enum HangGuard {
    /// Returns once `limit` has passed (throws when cancelled, that is when the guarded work
    /// finished first).
    public static func expiry(_ limit: Duration) async throws {
        // A hang guard: real time is the point (a hung call must fail the run); no event of
        // the test waits on it.
        try await Task.sleep(for: limit)
    }
}

/// Real-time pauses that are the behaviour under test (see above), never a way to wait for
/// an event.
public enum Pace {
    /// Pauses the task for `duration` (throws when cancelled).
    public static func pause(_ duration: Duration) async throws {
        guard duration > .zero else { return }
        // Deliberate pacing: a load generator's think time, a stall or outage's length, a
        // random moment to cancel or kill at; the timing itself is under test, no gate exists.
        try await Task.sleep(for: duration)
    }

    /// Blocks the calling thread for `duration`: a fake server's or a job's simulated work.
    public static func block(_ duration: Duration) {
        guard duration > .zero else { return }
        // Deliberate pacing on a thread (simulated slow work or a server sending in chunks),
        // as in pause.
        usleep(useconds_t(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }
}

/// A one-way gate that can be waited on with a time limit: tasks wait until something opens it. It orders events without a pause:
/// the waiter goes on exactly when the event it waits for has happened.
public final class Latch: Sendable {
    private struct State {
        var open = false
        var next: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether the gate was opened.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Opens the gate: every waiter, and every later one, goes on.
    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Returns true once the gate is open, or false when the task is cancelled first.
    public func wait() async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.next += 1
            return state.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool? in
                    if state.open { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    /// Returns true once the gate is open, or false when `limit` passed first (a hang guard,
    /// see ``HangGuard``).
    public func wait(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await HangGuard.expiry(limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || isOpen
        }
    }
}

/// Runs `body`, which blocks its thread (a child process's pipes, `waitUntilExit`), on a thread
/// of its own and waits for it without holding a thread of Swift's cooperative pool: that pool
/// has one thread per core (two here), and a test blocking them stalls every other test's
/// tasks, whose clients then see their deadlines pass with their answers already in.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
