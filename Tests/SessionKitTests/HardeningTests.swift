import Foundation
import SessionKitTestSupport
import Synchronization
import Testing

@testable import SessionKit

/// Regression tests for defects found in review: each failed before its fix.
@Suite("Hardening")
struct HardeningTests {
    /// A failed save after `regenerateID()` must leave the old session loadable.
    @Test func regenerateWithAFailingSaveKeepsTheOldSession() async throws {
        let store = InMemorySessionStore(maximumValueBytes: 4096)
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["cart"] = "book" }
        let id = try #require(browser.cookies["session"])
        await #expect(throws: SessionError.self) {
            try await browser.request(middleware) { context in
                let session = try await context.session()
                try session.regenerateID()
                session["note"] = .string(String(repeating: "x", count: 5000))
            }
        }
        #expect(try await store.load(key: "session:\(id)") != nil, "the old entry survives the failed save")
        #expect(try await browser.request(middleware) { try await $0.session()["cart"] }.value == "book")
    }

    /// Same with the store going down between the two writes' turn.
    @Test func invalidateThenNewDataWithAStoreFailureKeepsTheOldSession() async throws {
        let store = InstrumentedStore(InMemorySessionStore())
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let id = try #require(browser.cookies["session"])
        await #expect(throws: SessionError.self) {
            try await browser.request(middleware) { context in
                let session = try await context.session()
                try session.invalidate()
                session.flash("bye")
                store.failing = true
            }
        }
        store.failing = false
        #expect(try await store.base.load(key: "session:\(id)") != nil)
    }

    /// Hostile creation times in a stored entry never crash and never defeat the lifetime.
    @Test(arguments: ["9223372036854775807", "1e300", "-1e19", "-5", "\"x\"", "null", "[1]", "99999999999"])
    func hostileCreationTimes(_ created: String) async throws {
        let time = ManualClock()
        let store = InMemorySessionStore(clock: time.clock)
        let limited = try SessionMiddleware(StoreSessionInterface(
            store: store, configuration: SessionConfiguration(absoluteLifetime: 3600), clock: time.clock))
        let unlimited = try SessionMiddleware(StoreSessionInterface(store: store, clock: time.clock))
        let id = try SessionID.generate()
        let entry = Array(#"{"_sk_created":\#(created),"user":"ada"}"#.utf8)

        try await store.save(key: "session:\(id)", value: entry, ttl: 60)
        let seen = try await unlimited.handle(cookieHeaders: ["session=\(id)"]) { context in
            let session = try await context.session()
            session["visits"] = 1  // forces a save, which must not trap
            return session["user"]
        }
        #expect(seen.value == "ada")
        let rewritten = try #require(try await store.load(key: "session:\(id)"))
        let object = try #require(try JSON.decode(rewritten).objectValue)
        let stamp = try #require(object[Session.createdKey]?.doubleValue)
        #expect(stamp >= 0 && stamp <= time.now + 300, "a sane creation time is written back")

        try await store.save(key: "session:\(id)", value: entry, ttl: 60)
        let limitedSeen = try await limited.handle(cookieHeaders: ["session=\(id)"]) { try await $0.session()["user"] }
        let plausible = Double(created).map { $0 >= 0 && $0 <= time.now + 300 } ?? false
        #expect(limitedSeen.value == (plausible ? "ada" : nil), "an implausible creation time ends a limited session")
    }

    @Test func theReservedKeyCannotBeForgedByTheApplication() async throws {
        let time = ManualClock()
        let store = InMemorySessionStore(clock: time.clock)
        let middleware = try SessionMiddleware(StoreSessionInterface(
            store: store, configuration: SessionConfiguration(absoluteLifetime: 3600), clock: time.clock))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["user"] = "ada"
            session[Session.createdKey] = .int(Int(time.now) + 100_000)  // would extend the lifetime
        }
        time.advance(by: 3601)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == nil)
    }

    /// Errors are logged; they must not carry live session IDs.
    @Test func errorMessagesDoNotContainSessionIDs() async throws {
        let store = InMemorySessionStore(maximumValueBytes: 100)
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["a"] = 1 }
        let id = try #require(browser.cookies["session"])
        let error = await #expect(throws: SessionError.self) {
            try await browser.request(middleware) { try await $0.session()["a"] = .string(String(repeating: "x", count: 200)) }
        }
        #expect(error?.message.contains(id) == false)
        #expect(error.map { "\($0)" }?.contains(id) == false)
    }

    /// An entry that exists but cannot be used is never adopted, even when adoption is on.
    @Test func unusableEntriesAreNotAdopted() async throws {
        let store = InMemorySessionStore()
        var config = SessionConfiguration.default
        config.adoptUnknownIDs = true
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store, configuration: config))
        let id = try SessionID.generate()
        let corrupt = Array("not json".utf8)
        try await store.save(key: "session:\(id)", value: corrupt, ttl: 60)
        let result = try await middleware.handle(cookieHeaders: ["session=\(id)"]) { context in
            let session = try await context.session()
            session["x"] = 1
            return session.id
        }
        #expect(result.value != id)
        #expect(try await store.load(key: "session:\(id)") == corrupt)
    }

    /// Signed cookies with absurd timestamps are rejected, never a trap.
    @Test(arguments: ["[-1e19, 0, {}]", "[1e300, 1e300, {}]", "[0, 1e19, {}]", "[4102444800, 0, {}]"])
    func absurdCookieTimestamps(_ payload: String) async throws {
        let log = RejectionLog()
        let secret = String(repeating: "k", count: 64)
        let middleware = try SessionMiddleware(SignedCookieSessionInterface(
            secrets: [secret], options: CookieSessionConfiguration(timeout: nil, onRejectedCookie: log.hook)))
        let cookie = String(decoding: try SignedSessionSerializer(secrets: [secret]).sign(Array(payload.utf8)), as: UTF8.self)
        let result = try await middleware.handle(cookieHeaders: ["session=\(cookie)"]) { try await $0.session().isNew }
        #expect(result.value)
        #expect(log.all == [.malformedPayload])
    }

    @Test func durationsAreBounded() {
        #expect(throws: SessionError.self) { try SessionConfiguration(expiry: Int.max) }
        #expect(throws: SessionError.self) { try SessionConfiguration(absoluteLifetime: Int.max) }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: String(repeating: "k", count: 64), options: .init(maxAge: Int.max)) }
        #expect(throws: Never.self) { try SessionConfiguration(expiry: SessionConfiguration.maximumDuration) }
    }

    /// A load cancelled in one task does not fail the other tasks of the request.
    ///
    /// The order is made with gates, not waits: the loader is parked inside the store, the
    /// waiter is registered behind the loader's load, and only then is the loader cancelled.
    @Test(.timeLimit(.minutes(1)))
    func cancelledLoaderDoesNotFailOtherTasks() async throws {
        let store = GatedStore(InMemorySessionStore())
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let before = store.loads
        store.holdNextLoad()
        let seen = try await middleware.handle(cookieHeaders: browser.cookieHeaders) { context in
            let loader = Task { try await context.session() }
            await store.loadHeld()
            let waiter = Task { try await context.session()["user"] }
            while Self.waitingTasks(context) < 1 { await Task.yield() }
            loader.cancel()
            let loaded = await loader.result
            #expect(throws: CancellationError.self) { try loaded.get() }
            return try await waiter.value
        }
        #expect(seen.value == "ada")
        #expect(store.loads - before == 2, "the cancelled load and the waiter's own")
    }

    /// How many tasks wait for the first session's load in progress.
    static func waitingTasks(_ context: SessionContext) -> Int {
        context.states.withLock { states in
            if case .loading(let waiters) = states[0] { return waiters.count }
            return 0
        }
    }
}

/// A real store whose load, when told to, stops at a gate until its task is cancelled, and
/// says when a load has arrived there: to cancel a load mid-flight at a known point.
final class GatedStore<Base: SessionStore>: SessionStore, Sendable {
    private struct State {
        var holdNext = false
        var loads = 0
        var arrived = false
        var arrivalWaiter: CheckedContinuation<Void, Never>?
        var cancelled = false
        var held: CheckedContinuation<Void, Never>?
    }
    let base: Base
    private let state = Mutex(State())

    init(_ base: Base) { self.base = base }

    /// The loads made so far (held ones included).
    var loads: Int { state.withLock { $0.loads } }

    /// The next load stops at the gate until its task is cancelled.
    func holdNextLoad() { state.withLock { $0.holdNext = true } }

    /// Returns once a load stopped at the gate.
    func loadHeld() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.arrived { return true }
                state.arrivalWaiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func gate() async throws {
        let hold = state.withLock { state -> Bool in
            state.loads += 1
            defer { state.holdNext = false }
            return state.holdNext
        }
        guard hold else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (arrival, cancelled) = state.withLock { state in
                    state.arrived = true
                    if !state.cancelled { state.held = continuation }
                    defer { state.arrivalWaiter = nil }
                    return (state.arrivalWaiter, state.cancelled)
                }
                arrival?.resume()
                if cancelled { continuation.resume() }
            }
        } onCancel: {
            let held = state.withLock { state in
                state.cancelled = true
                defer { state.held = nil }
                return state.held
            }
            held?.resume()
        }
        throw CancellationError()
    }

    func load(key: String) async throws -> [UInt8]? {
        try await gate()
        return try await base.load(key: key)
    }
    func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try await gate()
        return try await base.loadAndTouch(key: key, ttl: ttl)
    }
    func save(key: String, value: [UInt8], ttl: Int?) async throws { try await base.save(key: key, value: value, ttl: ttl) }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
}
