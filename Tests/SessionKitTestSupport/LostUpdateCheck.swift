import SessionKit
import Synchronization

/// Overlapping requests of one user that change different keys of the same session: the check
/// counts how many of those changes are missing afterwards.
///
/// Each pair loads one session in two concurrent requests, waits until both have loaded it,
/// then each sets its own key. With whole-session saves the later save erases the other
/// request's key; with changed-keys saves both keys survive.
public enum LostUpdateCheck {
    /// Runs `pairs` pairs through `middleware` and returns the number of changes lost.
    public static func lostChanges(middleware: SessionMiddleware, pairs: Int, sessionName: String = "session") async throws -> Int {
        var lost = 0
        for pair in 0..<pairs {
            let browser = TestBrowser()
            _ = try await browser.request(middleware) { try await $0.session(sessionName)["base"] = .int(pair) }
            let headers = browser.cookieHeaders
            let barrier = Barrier(parties: 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for side in ["a", "b"] {
                    group.addTask {
                        _ = try await middleware.handle(cookieHeaders: headers) { context in
                            let session = try await context.session(sessionName)
                            _ = session["base"]
                            await barrier.arrive()
                            session[side] = .int(pair)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await middleware.handle(cookieHeaders: headers) { context in
                let session = try await context.session(sessionName)
                return (session["base"], session["a"], session["b"])
            }.value
            if seen.0 != .int(pair) { lost += 1 }
            if seen.1 != .int(pair) { lost += 1 }
            if seen.2 != .int(pair) { lost += 1 }
        }
        return lost
    }
}

/// Lets a fixed number of tasks wait for each other.
final class Barrier: Sendable {
    private let state: Mutex<(arrived: Int, waiters: [CheckedContinuation<Void, Never>])>
    private let parties: Int

    init(parties: Int) {
        self.parties = parties
        self.state = Mutex((0, []))
    }

    func arrive() async {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.arrived += 1
                state.waiters.append(continuation)
                guard state.arrived == parties else { return [] }
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in release { waiter.resume() }
        }
    }
}
