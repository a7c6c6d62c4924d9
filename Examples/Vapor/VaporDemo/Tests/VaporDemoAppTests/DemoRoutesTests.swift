import SessionKit
import Testing
import VaporDemoApp
import VaporSessionKit
import VaporTesting

/// The demo's routes through Vapor's in-memory tester, with the session cookie carried from
/// response to request as a browser would.
@Suite struct DemoRoutesTests {
    /// The value of the `session` cookie set by a response, or nil when none is set.
    static func sessionCookie(_ response: TestingHTTPResponse) -> (value: String, attributes: String)? {
        for header in response.headers[.setCookie] where header.hasPrefix("session=") {
            let value = header.dropFirst("session=".count).prefix { $0 != ";" }
            return (String(value), header)
        }
        return nil
    }

    static func cookieHeader(_ value: String) -> HTTPHeaders { ["Cookie": "session=\(value)"] }

    func withDemo(_ test: (Application) async throws -> Void) async throws {
        try await withApp(configure: { app in
            try configureDemo(app, interface: InMemorySessionInterface(configuration: SessionConfiguration(expiry: 3600)))
        }, test)
    }

    @Test func counterIncrementsWithTheCookie() async throws {
        try await withDemo { app in
            let first = try await app.testing().sendRequest(.GET, "/")
            #expect(first.status == .ok)
            #expect(first.body.string == "visits 1; not logged in\n")
            let cookie = try #require(Self.sessionCookie(first))
            #expect(cookie.attributes.contains("HttpOnly"))
            #expect(cookie.attributes.contains("SameSite=Lax"))
            #expect(first.headers[.vary].contains("Cookie"))
            #expect(first.headers[.cacheControl].contains("private"))

            let second = try await app.testing().sendRequest(.GET, "/", headers: Self.cookieHeader(cookie.value))
            #expect(second.body.string == "visits 2; not logged in\n")
            let third = try await app.testing().sendRequest(.GET, "/", headers: Self.cookieHeader(cookie.value))
            #expect(third.body.string == "visits 3; not logged in\n")

            // Without the cookie: a new session.
            let other = try await app.testing().sendRequest(.GET, "/")
            #expect(other.body.string == "visits 1; not logged in\n")
        }
    }

    @Test func loginRegeneratesTheSessionID() async throws {
        try await withDemo { app in
            let first = try await app.testing().sendRequest(.GET, "/")
            let before = try #require(Self.sessionCookie(first)).value

            let login = try await app.testing().sendRequest(.POST, "/login", headers: Self.cookieHeader(before)) { req in
                try req.content.encode(["username": "ada"], as: .urlEncodedForm)
            }
            #expect(login.status == .ok)
            #expect(login.body.string == "logged in as ada\n")
            let after = try #require(Self.sessionCookie(login)).value
            #expect(after != before)

            // The data moved to the new ID; the old ID no longer works.
            let home = try await app.testing().sendRequest(.GET, "/", headers: Self.cookieHeader(after))
            #expect(home.body.string == "visits 2; logged in as ada\n")
            let stale = try await app.testing().sendRequest(.GET, "/", headers: Self.cookieHeader(before))
            #expect(stale.body.string == "visits 1; not logged in\n")
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await withDemo { app in
            let first = try await app.testing().sendRequest(.GET, "/")
            let anonymous = try #require(Self.sessionCookie(first)).value
            let login = try await app.testing().sendRequest(.POST, "/login", headers: Self.cookieHeader(anonymous)) { req in
                try req.content.encode(["username": "ada"], as: .urlEncodedForm)
            }
            let cookie = try #require(Self.sessionCookie(login)).value

            let logout = try await app.testing().sendRequest(.POST, "/logout", headers: Self.cookieHeader(cookie))
            #expect(logout.body.string == "logged out\n")
            let expired = try #require(Self.sessionCookie(logout))
            #expect(expired.attributes.contains("Max-Age=0"))

            let home = try await app.testing().sendRequest(.GET, "/", headers: Self.cookieHeader(cookie))
            #expect(home.body.string == "visits 1; not logged in\n")
        }
    }

    @Test func badLoginSavesNothing() async throws {
        try await withDemo { app in
            let response = try await app.testing().sendRequest(.POST, "/login") { req in
                try req.content.encode(["username": ""], as: .urlEncodedForm)
            }
            #expect(response.status == .badRequest)
            #expect(Self.sessionCookie(response) == nil)
        }
    }

    @Test func routesWithoutSessionsSetNoCookie() async throws {
        try await withDemo { app in
            let response = try await app.testing().sendRequest(.GET, "/healthz")
            #expect(response.body.string == "ok")
            #expect(response.headers[.setCookie].isEmpty)
            #expect(response.headers[.vary].isEmpty)
        }
    }

    /// A cookie session with setOnException (pyramid's set_on_exception) still sends its cookie
    /// when the handler throws: the adapter keeps the error's status and adds the headers.
    @Test func cookieSessionHeadersGoOutWithErrors() async throws {
        try await withApp(configure: { app in
            let interface = try SignedCookieSessionInterface(secret: "test-secret-0123456789abcdef0123456789")
            app.grouped(SessionKitMiddleware(try SessionMiddleware(interface))).get("fail") { req async throws -> String in
                let session = try await req.sessionKit.session()
                session["seen"] = true
                throw Abort(.conflict, reason: "try again")
            }
        }) { app in
            let response = try await app.testing().sendRequest(.GET, "/fail")
            #expect(response.status == .conflict)
            #expect(Self.sessionCookie(response) != nil)
            #expect(response.headers[.vary].contains("Cookie"))
        }
    }
}
