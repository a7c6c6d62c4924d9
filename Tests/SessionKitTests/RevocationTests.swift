import SessionKit
import SessionKitTestSupport
import Testing

/// User-wide revocation on the local stores, through the middleware.
@Suite("User-wide revocation (local stores)")
struct RevocationTests {
    static func stores(_ dir: FilesystemTestDirectory) throws -> [(String, any SessionInterface)] {
        [
            ("in-memory", try InMemorySessionInterface()),
            ("in-memory, changed keys", try InMemorySessionInterface(configuration: SessionConfiguration(saveMode: .changedKeys))),
            ("filesystem", try FilesystemSessionInterface(directory: dir.path)),
        ]
    }

    @Test func revokeAllEndsEverySessionOfTheUserOnly() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        for (name, interface) in try Self.stores(dir) {
            let middleware = try SessionMiddleware(interface)
            let phone = try await RevocationCheck.login(middleware, user: "42", device: "phone")
            let laptop = try await RevocationCheck.login(middleware, user: "42", device: "laptop")
            let other = try await RevocationCheck.login(middleware, user: "7", device: "laptop")
            let anonymous = TestBrowser()
            _ = try await anonymous.request(middleware) { try await $0.session()["cart"] = 3 }

            #expect(try await middleware.sessions(ofUser: "42").compactMap(\.device).sorted() == ["laptop", "phone"], "\(name)")
            #expect(try await middleware.revokeAllSessions(ofUser: "42") == 2, "\(name)")
            #expect(try await RevocationCheck.user(of: phone, middleware) == nil, "\(name)")
            #expect(try await RevocationCheck.user(of: laptop, middleware) == nil, "\(name)")
            #expect(try await RevocationCheck.user(of: other, middleware) == "7", "\(name): another user is untouched")
            #expect(try await anonymous.request(middleware) { try await $0.session()["cart"] }.value == 3, "\(name): anonymous sessions are untouched")
            #expect(try await middleware.sessions(ofUser: "42").isEmpty, "\(name)")
            // A later login works and is listed.
            let again = try await RevocationCheck.login(middleware, user: "42", device: "tablet")
            #expect(try await RevocationCheck.user(of: again, middleware) == "42", "\(name)")
            #expect(try await middleware.sessions(ofUser: "42").map(\.device) == ["tablet"], "\(name)")
        }
    }

    @Test func revokeOtherSessionsKeepsTheCurrentOne() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        for (name, interface) in try Self.stores(dir) {
            let middleware = try SessionMiddleware(interface)
            let browsers = [
                try await RevocationCheck.login(middleware, user: "42", device: "a"),
                try await RevocationCheck.login(middleware, user: "42", device: "b"),
                try await RevocationCheck.login(middleware, user: "42", device: "c"),
            ]
            let (ended, listed) = try await browsers[1].request(middleware) { context in
                _ = try await context.session()["user"]
                let ended = try await middleware.revokeOtherSessions(ofUser: "42", keeping: context)
                return (ended, try await middleware.sessions(ofUser: "42", current: context))
            }.value
            #expect(ended == 2, "\(name)")
            #expect(listed.count == 1 && listed[0].device == "b" && listed[0].isCurrent, "\(name): \(listed)")
            #expect(try await RevocationCheck.user(of: browsers[0], middleware) == nil, "\(name)")
            #expect(try await RevocationCheck.user(of: browsers[1], middleware) == "42", "\(name)")
            #expect(try await RevocationCheck.user(of: browsers[2], middleware) == nil, "\(name)")
        }
    }

    @Test func listingDropsEndedSessionsAndOneDeviceCanBeEnded() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        for (name, interface) in try Self.stores(dir) {
            let middleware = try SessionMiddleware(interface)
            let a = try await RevocationCheck.login(middleware, user: "42", device: "a")
            let b = try await RevocationCheck.login(middleware, user: "42", device: "b")
            let c = try await RevocationCheck.login(middleware, user: "42", device: "c")
            _ = try await a.request(middleware) { try await $0.session().invalidate() }  // logged out
            let listed = try await middleware.sessions(ofUser: "42")
            #expect(listed.map(\.device) == ["b", "c"], "\(name)")
            #expect(!listed.contains { $0.handle.isEmpty || $0.sessionName != "session" })
            let handleOfB = try #require(listed.first { $0.device == "b" }?.handle)
            #expect(try await middleware.revokeSession(ofUser: "42", handle: handleOfB), "\(name)")
            #expect(try await middleware.revokeSession(ofUser: "7", handle: handleOfB) == false, "\(name): another user's handle")
            #expect(try await RevocationCheck.user(of: b, middleware) == nil, "\(name)")
            #expect(try await RevocationCheck.user(of: c, middleware) == "42", "\(name)")
            #expect(try await middleware.sessions(ofUser: "42").map(\.device) == ["c"], "\(name)")
        }
    }

    /// A bound session that a request regenerates while its user's sessions are revoked is
    /// not kept under its new ID; the control (index not consulted) keeps it.
    @Test func aRegenerationInFlightDoesNotSurviveARevocation() async throws {
        let interface = try InMemorySessionInterface()
        let middleware = try SessionMiddleware(interface)
        let victim = try await RevocationCheck.login(middleware, user: "42", device: "a")
        let loaded = Gate()
        let release = Gate()
        let held = Task {
            try await middleware.handle(cookieHeaders: victim.cookieHeaders) { context in
                let session = try await context.session()
                loaded.open()
                await release.wait()
                try session.regenerateID()
                session["step"] = 2
            }
        }
        await loaded.wait()
        #expect(try await middleware.revokeAllSessions(ofUser: "42") == 1)
        release.open()
        let result = try await held.value
        #expect(result.discardedSessions == ["session"])
        victim.receive(result.setCookies)
        #expect(try await RevocationCheck.user(of: victim, middleware) == nil)
        #expect(try await middleware.sessions(ofUser: "42").isEmpty)
    }

    /// One user with a session on each of three interfaces (in-memory, filesystem, signed
    /// cookies with a revocation store): "sign out everywhere else" from one keeps only it.
    @Test func acrossInterfacesOnlyTheKeptSessionLives() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let middleware = try SessionMiddleware(
            InMemorySessionInterface(configuration: SessionConfiguration(cookieName: "m", sessionName: "memory")),
            FilesystemSessionInterface(configuration: SessionConfiguration(cookieName: "f", sessionName: "files"), directory: dir.path),
            SignedCookieSessionInterface(
                secret: String(repeating: "s", count: 40),
                options: CookieSessionConfiguration(cookieName: "c", sessionName: "cookie", revocationStore: InMemorySessionStore())))
        for keep in ["memory", "files", "cookie"] {
            let browsers = [
                "memory": try await RevocationCheck.login(middleware, user: "42", device: "memory", sessionName: "memory"),
                "files": try await RevocationCheck.login(middleware, user: "42", device: "files", sessionName: "files"),
                "cookie": try await RevocationCheck.login(middleware, user: "42", device: "cookie", sessionName: "cookie"),
            ]
            let anonymous = TestBrowser()
            _ = try await anonymous.request(middleware) { try await $0.session("cookie")["cart"] = 1 }
            let kept = try #require(browsers[keep])
            _ = try await kept.request(middleware) { context in
                _ = try await context.session(keep)["user"]
                return try await middleware.revokeOtherSessions(ofUser: "42", keeping: context)
            }
            for (name, browser) in browsers {
                let user = try await RevocationCheck.user(of: browser, middleware, sessionName: name)
                #expect(user == (name == keep ? "42" : nil), "kept \(keep): \(name) has \(user ?? "nil")")
            }
            // Listing shows the server-side sessions that live: the kept one, unless it is a cookie.
            let listed = try await middleware.sessions(ofUser: "42").compactMap { $0.device }
            #expect(listed == (keep == "cookie" ? [] : [keep]), "kept \(keep): listed \(listed)")
            #expect(try await anonymous.request(middleware) { try await $0.session("cookie")["cart"] }.value == 1)
            _ = try await middleware.revokeAllSessions(ofUser: "42")
            #expect(try await RevocationCheck.user(of: kept, middleware, sessionName: keep) == nil)
        }
    }

    @Test func bindUserRefusesEmptyAndOverlongIDs() throws {
        let session = Session(id: try SessionID.generate(), isNew: true, createdAt: 0, accessedAt: 0)
        #expect(throws: SessionError.self) { try session.bindUser("") }
        #expect(throws: SessionError.self) { try session.bindUser(String(repeating: "x", count: 257)) }
        try session.bindUser("42", device: String(repeating: "é", count: 300))
        #expect(session.boundUser == "42")
        #expect((session[Session.deviceKey]?.stringValue?.utf8.count ?? 0) <= 256)
    }
}
