import SessionKit
import SessionKitTestSupport
import Testing

@Suite("Host-locked session cookies")
struct HostLockedCookieTests {
    @Test func addsTheHostPrefixAndSecure() throws {
        let configuration = try SessionConfiguration(expiry: 3600).hostLocked()
        #expect(configuration.cookieName == "__Host-session")
        #expect(configuration.secure)
        #expect(configuration.domain == nil && configuration.path == "/")
        #expect(try SessionConfiguration(cookieName: "__Host-sid", secure: true).hostLocked().cookieName == "__Host-sid")
        #expect(try SessionConfiguration(cookieName: "__Secure-sid", secure: true).hostLocked().cookieName == "__Host-sid")
        // The plain, sanic-compatible default is unchanged.
        #expect(SessionConfiguration.default.cookieName == "session")
    }

    @Test func refusesADomainOrAPath() throws {
        #expect(throws: SessionError.self) { try SessionConfiguration(domain: "example.com").hostLocked() }
        #expect(throws: SessionError.self) { try SessionConfiguration(path: "/app").hostLocked() }
    }

    @Test func theCookieSentHasTheHostPrefixAndItsAttributes() async throws {
        let middleware = try SessionMiddleware(InMemorySessionInterface(configuration: SessionConfiguration().hostLocked()))
        let browser = TestBrowser()
        let result = try await browser.request(middleware) { try await $0.session()["user"] = "alice" }
        let cookie = try #require(result.setCookies.first)
        #expect(cookie.hasPrefix("__Host-session="))
        #expect(cookie.contains("; Secure") && cookie.contains("; Path=/") && !cookie.contains("Domain="))
        // A tossed duplicate under the plain name from a sibling subdomain is not this session's cookie.
        browser.set("session", "x")
        let user = try await browser.request(middleware) { try await $0.session()["user"] }.value
        #expect(user == "alice")
    }
}
