import Foundation
import SessionKitTestSupport
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
    @Test func cancelledLoaderDoesNotFailOtherTasks() async throws {
        let store = SlowStore(InMemorySessionStore())
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        store.delay = .milliseconds(300)
        let seen = try await middleware.handle(cookieHeaders: browser.cookieHeaders) { context in
            let loader = Task { try await context.session() }
            try await Task.sleep(for: .milliseconds(50))  // the loader is inside the store now
            let waiter = Task { try await context.session()["user"] }
            try await Task.sleep(for: .milliseconds(50))
            loader.cancel()
            return try await waiter.value
        }
        #expect(seen.value == "ada")
    }
}

/// A real store behind a delay that honours cancellation, to cancel a load mid-flight.
final class SlowStore<Base: SessionStore>: SessionStore, @unchecked Sendable {
    let base: Base
    private let lock = NSLock()
    private var _delay: Duration = .zero
    var delay: Duration {
        get { lock.withLock { _delay } }
        set { lock.withLock { _delay = newValue } }
    }
    init(_ base: Base) { self.base = base }
    func pause() async throws { if delay > .zero { try await Task.sleep(for: delay) } }
    func load(key: String) async throws -> [UInt8]? {
        try await pause()
        return try await base.load(key: key)
    }
    func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try await pause()
        return try await base.loadAndTouch(key: key, ttl: ttl)
    }
    func save(key: String, value: [UInt8], ttl: Int?) async throws { try await base.save(key: key, value: value, ttl: ttl) }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
}
