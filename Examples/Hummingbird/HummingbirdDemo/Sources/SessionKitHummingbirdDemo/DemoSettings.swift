import Foundation
import SessionKit
import SessionKitMemcached
import SessionKitRedis
import SessionKitTLS

/// The demo's settings, from command-line flags or environment variables (flags win).
///
/// | flag | environment | default |
/// |---|---|---|
/// | `--store` | `SESSIONKIT_STORE` | `memory`; or `filesystem[:DIR]`, `redis://...`, `rediss://...`, `memcached://...`, `memcached+tls://...`, `cookie` |
/// | `--port` | `SESSIONKIT_PORT` (or `PORT`) | `8080` |
/// | `--host` | `SESSIONKIT_HOST` | `127.0.0.1` |
/// | `--expiry` | `SESSIONKIT_EXPIRY` | `3600` seconds (0: permanent) |
/// | `--session-cookie` | `SESSIONKIT_SESSION_COOKIE` | `false`: the cookie has a Max-Age |
/// | `--same-site` | `SESSIONKIT_SAMESITE` | `lax`; or `strict`, `none`, `unspecified` |
/// | `--secure` | `SESSIONKIT_SECURE` | `false` (the demo serves plain HTTP) |
/// | | `SESSIONKIT_SECRET` | required by the `cookie` store: the signing secret |
/// | | `SESSIONKIT_TEST_CLOCK` | off. For tests only: `1` makes the `memory` store keep time on a clock that stands still until `POST /__test/advance?seconds=N` moves it |
struct DemoSettings: Sendable {
    var store = "memory"
    var host = "127.0.0.1"
    var port = 8080
    var expiry = 3600
    var sessionCookie = false
    var sameSite = SessionConfiguration.SameSite.lax
    var secure = false
    var secret: String?
    /// Test-only (`SESSIONKIT_TEST_CLOCK=1`): the in-memory store and its interface read a
    /// manual clock that `POST /__test/advance?seconds=N` moves forward. Off by default.
    var testClock: TestClock?

    static let usage = """
        usage: SessionKitHummingbirdDemo [--store memory|filesystem[:DIR]|redis[s]://HOST:PORT|memcached[+tls]://HOST:PORT|cookie]
                                         [--port N] [--host ADDR] [--expiry SECONDS] [--session-cookie]
                                         [--same-site lax|strict|none|unspecified] [--secure]
        The same settings can be given as SESSIONKIT_STORE, SESSIONKIT_PORT, SESSIONKIT_HOST, SESSIONKIT_EXPIRY,
        SESSIONKIT_SESSION_COOKIE=1, SESSIONKIT_SAMESITE, SESSIONKIT_SECURE=1; the cookie store reads its
        signing secret from SESSIONKIT_SECRET. TLS stores verify the server against the system's trust store,
        or the CA file of ?ssl_ca_certs=/path/ca.pem.
        """

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the environment, then the flags.
    init(arguments: [String], environment: [String: String]) throws {
        func flag(_ value: String?) -> Bool? {
            guard let value else { return nil }
            return ["1", "true", "yes", "on"].contains(value.lowercased())
        }
        func parseSameSite(_ text: String) throws -> SessionConfiguration.SameSite {
            switch text.lowercased() {
            case "lax": return .lax
            case "strict": return .strict
            case "none": return .none
            case "unspecified", "": return .unspecified
            default: throw UsageError(description: "SameSite must be lax, strict, none or unspecified, not \"\(text)\"")
            }
        }
        func number(_ text: String, _ name: String) throws -> Int {
            guard let value = Int(text), value >= 0 else { throw UsageError(description: "\(name) must be a non-negative integer, not \"\(text)\"") }
            return value
        }

        if let value = environment["SESSIONKIT_STORE"], !value.isEmpty { store = value }
        if let value = environment["SESSIONKIT_HOST"], !value.isEmpty { host = value }
        if let value = environment["SESSIONKIT_PORT"] ?? environment["PORT"], !value.isEmpty { port = try number(value, "the port") }
        if let value = environment["SESSIONKIT_EXPIRY"], !value.isEmpty { expiry = try number(value, "the expiry") }
        if let value = flag(environment["SESSIONKIT_SESSION_COOKIE"]) { sessionCookie = value }
        if let value = environment["SESSIONKIT_SAMESITE"] { sameSite = try parseSameSite(value) }
        if let value = flag(environment["SESSIONKIT_SECURE"]) { secure = value }
        secret = environment["SESSIONKIT_SECRET"]
        if flag(environment["SESSIONKIT_TEST_CLOCK"]) == true { testClock = TestClock() }

        var rest = arguments[...]
        func value(for name: String) throws -> String {
            guard let value = rest.popFirst() else { throw UsageError(description: "\(name) needs a value") }
            return value
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--store": store = try value(for: argument)
            case "--host": host = try value(for: argument)
            case "--port": port = try number(try value(for: argument), "the port")
            case "--expiry": expiry = try number(try value(for: argument), "the expiry")
            case "--session-cookie": sessionCookie = true
            case "--same-site": sameSite = try parseSameSite(try value(for: argument))
            case "--secure": secure = true
            case "-h", "--help": throw UsageError(description: Self.usage)
            default: throw UsageError(description: "unknown argument \"\(argument)\"\n\(Self.usage)")
            }
        }
    }

    /// The store's name for pages and logs, without any password in a URL.
    var storeDescription: String {
        guard let at = store.firstIndex(of: "@"), let scheme = store.range(of: "://") else { return store }
        return String(store[..<scheme.upperBound]) + "***" + String(store[at...])
    }

    /// Builds the session interface the settings describe.
    func makeInterface() throws -> any SessionInterface {
        let configuration = try SessionConfiguration(
            expiry: expiry, sessionCookie: sessionCookie, sameSite: sameSite, secure: secure)
        if store == "memory" {
            return try InMemorySessionInterface(configuration: configuration, clock: testClock?.clock ?? .system)
        }
        if testClock != nil {
            throw UsageError(description: "SESSIONKIT_TEST_CLOCK works with the memory store only (other stores keep time on their own clock)")
        }
        if store == "filesystem" || store.hasPrefix("filesystem:") {
            let directory = store.hasPrefix("filesystem:") ? String(store.dropFirst("filesystem:".count)) : nil
            return try FilesystemSessionInterface(configuration: configuration, directory: directory)
        }
        // TLS (rediss://, memcached+tls://) verifies the server against the system's trust
        // store, or the CA file the URL names (?ssl_ca_certs=...). TLS settings go only with
        // TLS URLs: the stores refuse them beside a plaintext URL.
        if store.hasPrefix("redis://") || store.hasPrefix("rediss://") || store.hasPrefix("redis+") || store.hasPrefix("rediss+")
            || store.hasPrefix("unix://") {
            let tls = store.hasPrefix("rediss") ? TLSConfiguration() : nil
            return try RedisSessionInterface(url: store, tls: tls, configuration: configuration)
        }
        if store.hasPrefix("memcached://") || store.hasPrefix("memcached+tls://") {
            let tls = store.hasPrefix("memcached+tls://") ? TLSConfiguration() : nil
            return try MemcacheSessionInterface(url: store, tls: tls, configuration: configuration)
        }
        if store == "cookie" || store == "signed-cookie" {
            guard let secret, !secret.isEmpty else {
                throw UsageError(description: "the cookie store signs sessions with SESSIONKIT_SECRET; set it to a long random string, e.g. SESSIONKIT_SECRET=$(openssl rand -hex 32)")
            }
            let options = CookieSessionConfiguration(
                maxAge: sessionCookie || expiry == 0 ? nil : expiry, secure: secure, sameSite: sameSite,
                timeout: expiry == 0 ? nil : expiry,
                // One process: an in-memory revocation store makes "log out everywhere" and a
                // logout end every copy of a bound cookie. Several processes share Redis instead.
                revocationStore: InMemorySessionStore())
            return try SignedCookieSessionInterface(secret: secret, options: options)
        }
        throw UsageError(description: "unknown store \"\(store)\"\n\(Self.usage)")
    }
}
