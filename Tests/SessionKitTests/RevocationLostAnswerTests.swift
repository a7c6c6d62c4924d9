import SessionKit
import SessionKitTestSupport
import Synchronization
import Testing

/// A conditional save that the server executed but whose answer was lost: the client reports
/// failure (a network store retries the command, and the retry finds its own write). Here the
/// store executes the first conditional save of a user's index and answers `false`.
final class LostAnswerStore: VersionedSessionStore {
    let base = InMemorySessionStore()
    /// How many answers of conditional index writes are still to be lost.
    private let toLose = Mutex(0)

    /// From now on, the next `count` conditional writes of an index are executed and reported lost.
    func loseAnswers(_ count: Int) { toLose.withLock { $0 = count } }

    func load(key: String) async throws -> [UInt8]? { try await base.load(key: key) }
    func save(key: String, value: [UInt8], ttl: Int?) async throws { try await base.save(key: key, value: value, ttl: ttl) }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
    func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool { try await base.replace(key: key, value: value, ttl: ttl) }
    func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool { try await base.create(key: key, value: value, ttl: ttl) }
    func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? { try await base.loadVersioned(key: key) }
    func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        let saved = try await base.save(key: key, value: value, ttl: ttl, ifVersion: version)
        guard saved, key.contains("user:") else { return saved }
        let loseThis = toLose.withLock { count -> Bool in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
        return !loseThis
    }
}

@Suite("User-wide revocation when an answer is lost")
struct RevocationLostAnswerTests {
    @Test func aRevocationWhoseFirstWriteIsReportedLostStillEndsEverySession() async throws {
        let store = LostAnswerStore()
        let middleware = try SessionMiddleware(StoreSessionInterface(store: store))
        let browsers = [
            try await RevocationCheck.login(middleware, user: "42", device: "a"),
            try await RevocationCheck.login(middleware, user: "42", device: "b"),
        ]
        store.loseAnswers(1)
        #expect(try await middleware.revokeAllSessions(ofUser: "42") == 2)
        for browser in browsers {
            #expect(try await RevocationCheck.user(of: browser, middleware) == nil)
        }
    }

    @Test func aRegenerationWhoseIndexWriteIsReportedLostIsKept() async throws {
        let store = LostAnswerStore()
        let regenerating = try SessionMiddleware(StoreSessionInterface(store: store))
        let browser = try await RevocationCheck.login(regenerating, user: "42", device: "a")
        store.loseAnswers(1)
        let result = try await browser.request(regenerating) { context in
            let session = try await context.session()
            try session.regenerateID()
            session["step"] = 2
        }
        #expect(result.discardedSessions.isEmpty, "the move in the index was made; the session is kept")
        #expect(try await RevocationCheck.user(of: browser, regenerating) == "42")
        #expect(try await regenerating.sessions(ofUser: "42").count == 1)
    }
}
