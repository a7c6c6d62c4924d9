import SessionKit
import SessionKitTestSupport
import Testing

/// A session ended while a request held it stays ended, on the in-memory and filesystem
/// stores, in both save modes; the plain-save control brings it back.
@Suite("Ended sessions stay ended (local stores)")
struct EndedSessionTests {
    static let variants = ResurrectionCheck.Variant.allCases

    static func expectEnded(_ outcome: ResurrectionCheck.Outcome) {
        #expect(outcome.heldRequestSawUser, "the held request must have loaded the logged-in session")
        #expect(outcome.heldRequestDiscarded == ["session"])
        #expect(outcome.heldRequestExpiredCookie)
        #expect(outcome.userWithCopiedCookie == nil)
        #expect(outcome.userWithHeldRequestsCookie == nil)
    }

    static func expectResurrected(_ outcome: ResurrectionCheck.Outcome) {
        #expect(outcome.heldRequestSawUser)
        #expect(outcome.heldRequestDiscarded.isEmpty)
        #expect(outcome.resurrected, "the control saves with plain writes and must bring the session back")
    }

    @Test(arguments: variants, [SessionConfiguration.SaveMode.wholeSession, .changedKeys])
    func inMemory(_ variant: ResurrectionCheck.Variant, _ mode: SessionConfiguration.SaveMode) async throws {
        let interface = try InMemorySessionInterface(configuration: SessionConfiguration(saveMode: mode))
        Self.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
    }

    @Test(arguments: variants)
    func inMemoryControl(_ variant: ResurrectionCheck.Variant) async throws {
        let interface = try StoreSessionInterface(store: PlainSaveStore(InMemorySessionStore()))
        Self.expectResurrected(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
    }

    @Test(arguments: variants, [SessionConfiguration.SaveMode.wholeSession, .changedKeys])
    func filesystem(_ variant: ResurrectionCheck.Variant, _ mode: SessionConfiguration.SaveMode) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(saveMode: mode))
        Self.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
    }

    @Test(arguments: variants)
    func filesystemControl(_ variant: ResurrectionCheck.Variant) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let interface = try StoreSessionInterface(store: PlainSaveStore(try FilesystemSessionStore(directory: dir.path)))
        Self.expectResurrected(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
    }

    @Test func replaceWritesOnlyOverALiveEntry() async throws {
        let clock = ManualClock()
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let stores: [any SessionStore] = [
            InMemorySessionStore(clock: clock.clock),
            try FilesystemSessionStore(directory: dir.path, clock: clock.clock),
        ]
        for store in stores {
            #expect(try await store.replace(key: "r:a", value: [1], ttl: 60) == false, "\(store): no entry yet")
            #expect(try await store.load(key: "r:a") == nil)
            try await store.save(key: "r:a", value: [1], ttl: 60)
            #expect(try await store.replace(key: "r:a", value: [2], ttl: 60))
            #expect(try await store.load(key: "r:a") == [2])
            try await store.delete(key: "r:a")
            #expect(try await store.replace(key: "r:a", value: [3], ttl: 60) == false, "\(store): deleted")
            #expect(try await store.load(key: "r:a") == nil)
            try await store.save(key: "r:b", value: [1], ttl: 5)
            clock.advance(by: 6)
            #expect(try await store.replace(key: "r:b", value: [2], ttl: 60) == false, "\(store): expired")
            #expect(try await store.load(key: "r:b") == nil)
        }
    }

    @Test func regenerateIDReplacesTheCSRFToken() async throws {
        let session = Session(id: try SessionID.generate(), isNew: false, createdAt: 0, accessedAt: 0)
        let before = try session.csrfToken()
        try session.regenerateID()
        let after = try session.csrfToken()
        #expect(before != after)
        #expect(!session.isValidCSRFToken(before))
        #expect(session.isValidCSRFToken(after))
        // A session without a token does not get one.
        let plain = Session(id: try SessionID.generate(), isNew: false, createdAt: 0, accessedAt: 0)
        try plain.regenerateID()
        #expect(plain.data[Session.csrfKey] == nil)
    }
}

/// Signed cookies with a revocation store: a logout ends every copy of the cookie, even one
/// re-issued by a request that held the session; without one, the copy lives on (control).
@Suite("Ended sessions stay ended (signed cookies)")
struct SignedCookieEndedSessionTests {
    static let secret = String(repeating: "k", count: 40)

    @Test(arguments: ResurrectionCheck.Variant.allCases)
    func withARevocationStore(_ variant: ResurrectionCheck.Variant) async throws {
        let rejections = RejectionLog()
        let interface = try SignedCookieSessionInterface(
            secret: Self.secret,
            options: CookieSessionConfiguration(onRejectedCookie: rejections.hook, revocationStore: InMemorySessionStore()))
        EndedSessionTests.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
        #expect(rejections.all.contains(.revoked))
    }

    @Test(arguments: ResurrectionCheck.Variant.allCases)
    func withoutARevocationStoreTheCopyLivesOn(_ variant: ResurrectionCheck.Variant) async throws {
        let interface = try SignedCookieSessionInterface(secret: Self.secret)
        let outcome = try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant)
        #expect(outcome.heldRequestSawUser)
        #expect(outcome.resurrected, "a signed cookie without a revocation store cannot be ended on the server")
    }

    @Test func theDefaultAbsoluteLifetimeIsSevenDaysAndNilStaysPossible() throws {
        #expect(CookieSessionConfiguration().absoluteLifetime == 7 * 24 * 3600)
        let pyramidLike = try SignedCookieSessionInterface(secret: Self.secret, options: CookieSessionConfiguration(absoluteLifetime: nil))
        #expect(pyramidLike.base.options.absoluteLifetime == nil)
    }
}
