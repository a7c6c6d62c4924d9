import Testing
import SessionKit

@Suite("SessionConfiguration")
struct ConfigurationTests {
    @Test func defaultsMatchTheSeeds() {
        let c = SessionConfiguration.default
        #expect(c.domain == nil)
        #expect(c.expiry == 2_592_000)
        #expect(c.httpOnly)
        #expect(c.cookieName == "session")
        #expect(c.prefix == "session:")
        #expect(!c.sessionCookie)
        #expect(c.sessionName == "session")
        #expect(!c.secure)
        #expect(c.path == "/")
        #expect(!c.partitioned)
        #expect(c.sameSite == .lax)
        #expect(c.absoluteLifetime == nil)
        #expect(!c.adoptUnknownIDs)
        #expect(c.storeTTL == 2_592_000)
        #expect(c.cookieMaxAge == 2_592_000)
    }

    /// Each invalid configuration throws an error whose message names the option and the fix.
    static let invalid: [(@Sendable () throws -> SessionConfiguration, String)] = [
        ({ try SessionConfiguration(sameSite: .none) }, "secure: true"),
        ({ try SessionConfiguration(secure: false, partitioned: true) }, "secure: true"),
        ({ try SessionConfiguration(cookieName: "__Secure-sid") }, "__Secure-"),
        ({ try SessionConfiguration(cookieName: "__secure-sid") }, "__Secure-"),
        ({ try SessionConfiguration(cookieName: "__Host-sid") }, "__Host-"),
        ({ try SessionConfiguration(domain: "example.com", cookieName: "__Host-sid", secure: true) }, "without Domain"),
        ({ try SessionConfiguration(cookieName: "__Host-sid", secure: true, path: "/app") }, "Path=/"),
        ({ try SessionConfiguration(cookieName: "my session") }, "RFC 6265 token"),
        ({ try SessionConfiguration(cookieName: "a=b") }, "RFC 6265 token"),
        ({ try SessionConfiguration(cookieName: "a;b") }, "RFC 6265 token"),
        ({ try SessionConfiguration(cookieName: "") }, "RFC 6265 token"),
        ({ try SessionConfiguration(cookieName: "caf\u{E9}") }, "RFC 6265 token"),
        ({ try SessionConfiguration(expiry: -1) }, "negative"),
        ({ try SessionConfiguration(prefix: "session :") }, "spaces or control"),
        ({ try SessionConfiguration(prefix: "session\r\n") }, "spaces or control"),
        ({ try SessionConfiguration(prefix: "s\u{0}") }, "spaces or control"),
        ({ try SessionConfiguration(sessionName: "") }, "sessionName"),
        ({ try SessionConfiguration(domain: "exa mple.com") }, "domain"),
        ({ try SessionConfiguration(domain: "a.com; Secure") }, "domain"),
        ({ try SessionConfiguration(path: "app") }, "path"),
        ({ try SessionConfiguration(absoluteLifetime: 0) }, "absoluteLifetime"),
    ]

    @Test(arguments: 0..<invalid.count)
    func rejectsInvalidOptions(_ index: Int) {
        let (make, fragment) = Self.invalid[index]
        let error = #expect(throws: SessionError.self) { try make() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test func acceptsValidSpecialCases() throws {
        _ = try SessionConfiguration(cookieName: "__Host-sid", secure: true)
        _ = try SessionConfiguration(domain: "example.com", cookieName: "__Secure-sid", secure: true)
        _ = try SessionConfiguration(sameSite: .none, secure: true, partitioned: true)
        _ = try SessionConfiguration(expiry: 0)
        _ = try SessionConfiguration(expiry: nil)
    }

    @Test func interfacesRevalidateMutatedConfigurations() {
        var config = SessionConfiguration.default
        config.cookieName = "bad name"
        #expect(throws: SessionError.self) { try InMemorySessionInterface(configuration: config) }
    }
}
