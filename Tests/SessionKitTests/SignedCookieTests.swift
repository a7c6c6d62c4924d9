import Foundation
import SessionKitCrypto
import SessionKitTestSupport
import Synchronization
import Testing

@testable import SessionKit

/// Records cookie rejections reported by the interface.
final class RejectionLog: Sendable {
    let reasons = Mutex<[CookieRejection.Reason]>([])
    var all: [CookieRejection.Reason] { reasons.withLock { $0 } }
    var hook: @Sendable (CookieRejection) -> Void { { [self] r in reasons.withLock { $0.append(r.reason) } } }
}

@Suite("Signed cookie sessions")
struct SignedCookieTests {
    static let secret = String(repeating: "k", count: 64)
    static let oldSecret = "old-secret-" + String(repeating: "o", count: 40)
    static let newSecret = "new-secret-" + String(repeating: "n", count: 40)

    func make(
        _ options: CookieSessionConfiguration = .init(), secrets: [String] = [secret],
        algorithm: SignedSessionSerializer.HashAlgorithm = .sha512, clock: ManualClock = ManualClock()
    ) throws -> SessionMiddleware {
        try SessionMiddleware(SignedCookieSessionInterface(secrets: secrets, hashAlgorithm: algorithm, options: options, clock: clock.clock))
    }

    @Test(arguments: SignedSessionSerializer.HashAlgorithm.allCases)
    func roundTripThroughTheBrowser(_ algorithm: SignedSessionSerializer.HashAlgorithm) async throws {
        let middleware = try make(algorithm: algorithm)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["user"] = ["name": "Zoë", "langs": ["日本語", "😀"]]
            session["n"] = 42
            session.flash("saved")
        }
        let result = try await browser.request(middleware) { context in
            let session = try await context.session()
            return (session["user"], session["n"], session.popFlash())
        }
        #expect(result.value.0 == ["name": "Zoë", "langs": ["日本語", "😀"]])
        #expect(result.value.1 == 42)
        #expect(result.value.2 == ["saved"])
    }

    @Test func cookieFormatIsPyramids() throws {
        let interface = try SignedCookieSessionInterface(secret: "secret", allowShortSecrets: true)
        let header = try interface.base.render(data: ["a": 1], created: 1_700_000_000.5, accessed: 1_700_000_000, now: 0)
        let value = String(header.dropFirst("session=".count).prefix { $0 != ";" })
        #expect(!value.contains("="))
        let raw = try #require(Base64URL.decode(value))
        let payload = Array(raw.bytes[64...])
        #expect(String(decoding: payload, as: UTF8.self) == #"[1700000000, 1700000000.5, {"a": 1}]"#)
        let mac = HMAC<SHA512>.authenticationCode(for: payload, using: SymmetricKey(data: Array("pyramid.session.secret".utf8)))
        #expect(Array(raw.bytes[..<64]) == Array(mac))
        #expect(header.hasSuffix("; Path=/; HttpOnly; SameSite=Lax"), "browser-session cookie by default: \(header)")
    }

    @Test func pythonStyleJSON() throws {
        let bytes = try JSONSessionSerializer().serialize(["b": [1, 2.5, true, nil], "a": ["é": "😀\n\"\\\u{7F}\u{1F}\u{2028}"], "c": 1e-7, "d": 1e16])
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"a": {"\u00e9": "\ud83d\ude00\n\"\\\u007f\u001f\u2028"}, "b": [1, 2.5, true, null], "c": 1e-07, "d": 1e+16}"#)
        // Keys in code-point order, as Python's sort_keys: "B" < "a" < "z" < "é".
        let keys = try JSONSessionSerializer().serialize(["b": 1, "a": 2, "B": 3, "é": 4, "z": 5])
        #expect(String(decoding: keys, as: UTF8.self) == #"{"B": 3, "a": 2, "b": 1, "z": 5, "\u00e9": 4}"#)
    }

    /// Any single-byte change of a valid cookie is rejected.
    @Test func everySingleByteChangeIsRejected() async throws {
        let log = RejectionLog()
        let middleware = try make(CookieSessionConfiguration(onRejectedCookie: log.hook))
        let result = try await middleware.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let cookie = try #require(result.setCookies.first)
        let value = Array(cookie.dropFirst("session=".count).prefix { $0 != ";" }.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var rng = SplitMix64(seed: 42)
        var accepted = 0
        for position in 0..<value.count {
            for _ in 0..<3 {
                var forged = value
                var replacement = alphabet[Int(rng.next() % 64)]
                while replacement == forged[position] { replacement = alphabet[Int(rng.next() % 64)] }
                forged[position] = replacement
                let seen = try await middleware.handle(cookieHeaders: ["session=" + String(decoding: forged, as: UTF8.self)]) {
                    try await $0.session()["user"]
                }
                if seen.value != nil { accepted += 1 }
            }
        }
        #expect(accepted == 0)
        #expect(log.all.count == value.count * 3)
        #expect(Set(log.all).isSubset(of: [.invalidSignature, .malformed]))
        // The untouched cookie still works.
        let genuine = try await middleware.handle(cookieHeaders: ["session=" + String(decoding: value, as: UTF8.self)]) {
            try await $0.session()["user"]
        }
        #expect(genuine.value == "ada")
    }

    @Test func damagedCookiesGiveAFreshSessionAndAReason() async throws {
        let log = RejectionLog()
        let middleware = try make(CookieSessionConfiguration(onRejectedCookie: log.hook))
        let good = try await middleware.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let value = String(try #require(good.setCookies.first).dropFirst("session=".count).prefix { $0 != ";" })
        let notJSON = String(decoding: try SignedSessionSerializer(secrets: [Self.secret]).sign(Array("not json".utf8)), as: UTF8.self)
        let notAList = String(decoding: try SignedSessionSerializer(secrets: [Self.secret]).sign(Array(#"{"a": 1}"#.utf8)), as: UTF8.self)
        let truncatedBytes = try #require(Base64URL.decode(value)).bytes.dropLast(5)
        let cases: [(String, CookieRejection.Reason)] = [
            (Base64URL.encode(truncatedBytes), .invalidSignature),  // truncated payload, canonical encoding
            (String(value.dropLast(1)), .malformed),  // truncated text: impossible length or trailing bits
            (value + "==", .malformed),  // re-padded
            (value.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "+/", .malformed),  // standard base64
            ("!!garbage!!", .malformed),
            ("AAAA", .malformed),  // shorter than a MAC
            (notJSON, .malformedPayload),
            (notAList, .malformedPayload),
        ]
        for (cookie, reason) in cases {
            let before = log.all.count
            let result = try await middleware.handle(cookieHeaders: ["session=\(cookie)"]) { context in
                let session = try await context.session()
                return (session["user"], session.isNew)
            }
            #expect(result.value.0 == nil && result.value.1, "\(cookie)")
            #expect(Array(log.all.dropFirst(before)) == [reason], "\(cookie): \(log.all.dropFirst(before))")
        }
    }

    @Test func keyRotationVerifiesOldSecretsAndReissues() async throws {
        let clock = ManualClock()
        let old = try make(secrets: [Self.oldSecret], clock: clock)
        let first = try await old.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let oldCookie = try #require(first.setCookies.first).prefix { $0 != ";" }
        let rotated = try make(CookieSessionConfiguration(reissueTime: nil), secrets: [Self.newSecret, Self.oldSecret], clock: clock)
        let read = try await rotated.handle(cookieHeaders: [String(oldCookie)]) { try await $0.session()["user"] }
        #expect(read.value == "ada")
        let reissued = try #require(read.setCookies.first, "a cookie signed with an older secret is re-issued")
        let newOnly = try make(secrets: [Self.newSecret], clock: clock)
        #expect(try await newOnly.handle(cookieHeaders: [String(reissued.prefix { $0 != ";" })]) { try await $0.session()["user"] }.value == "ada")
        #expect(try await newOnly.handle(cookieHeaders: [String(oldCookie)]) { try await $0.session()["user"] }.value == nil)
    }

    @Test func timeoutReissueAndAbsoluteLifetime() async throws {
        let clock = ManualClock()
        let log = RejectionLog()
        let middleware = try make(
            CookieSessionConfiguration(timeout: 1200, reissueTime: 120, absoluteLifetime: 3000, onRejectedCookie: log.hook),
            clock: clock)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        clock.advance(by: 60)
        let early = try await browser.request(middleware) { try await $0.session()["user"] }
        #expect(early.value == "ada" && early.setCookies.isEmpty, "within reissue_time a read sends nothing")
        clock.advance(by: 100)
        let later = try await browser.request(middleware) { try await $0.session()["user"] }
        #expect(later.value == "ada" && later.setCookies.count == 1, "past reissue_time a read re-issues the cookie")
        // Kept alive by reads every 1000 s, the session still ends 3000 s after creation.
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == nil)
        #expect(log.all == [.lifetimeExceeded])
        // Idle past the timeout: dropped.
        let idle = TestBrowser()
        _ = try await idle.request(middleware) { try await $0.session()["user"] = "grace" }
        clock.advance(by: 1201)
        #expect(try await idle.request(middleware) { try await $0.session()["user"] }.value == nil)
        #expect(log.all.last == .timedOut)
    }

    @Test func maxAgeSetsTheCookieLifetime() async throws {
        let clock = ManualClock()
        let middleware = try make(CookieSessionConfiguration(maxAge: 600), clock: clock)
        let result = try await middleware.handle(cookieHeaders: []) { try await $0.session()["x"] = 1 }
        let header = try #require(result.setCookies.first)
        #expect(header.contains("; Max-Age=600; Expires=\(HTTPDate.format(Int(clock.now) + 600))"))
    }

    @Test func oversizedSessionIsRefusedBeforeSending() async throws {
        let middleware = try make()
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["note"] = "small" }
        let error = await #expect(throws: SessionError.self) {
            try await browser.request(middleware) { try await $0.session()["note"] = .string(String(repeating: "x", count: 3000)) }
        }
        #expect(error?.code == .cookieTooLarge)
        #expect(try await browser.request(middleware) { try await $0.session()["note"] }.value == "small")
        // Just under the limit still works: the whole header stays within 4096 bytes.
        let fits = try await browser.request(middleware) { try await $0.session()["note"] = .string(String(repeating: "y", count: 2800)) }
        #expect(try #require(fits.setCookies.first).utf8.count <= 4096)
    }

    @Test func invalidateExpiresTheCookie() async throws {
        let middleware = try make(CookieSessionConfiguration(domain: "example.com"))
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let result = try await browser.request(middleware) { try await $0.session().invalidate() }
        #expect(result.setCookies == ["session=; Domain=example.com; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"])
        #expect(browser.cookies.isEmpty)
    }

    @Test func setOnExceptionCarriesTheCookieInTheError() async throws {
        struct Boom: Error {}
        let on = try make()
        let error = await #expect(throws: SessionHandlerError.self) {
            try await on.handle(cookieHeaders: []) { context in
                try await context.session()["seen"] = true
                throw Boom()
            }
        }
        #expect(error?.error is Boom)
        #expect(error?.headers.contains { $0.name == "Set-Cookie" } == true)
        let off = try make(CookieSessionConfiguration(setOnException: false))
        await #expect(throws: Boom.self) {
            try await off.handle(cookieHeaders: []) { context in
                try await context.session()["seen"] = true
                throw Boom()
            }
        }
    }

    @Test func invalidOptionsAreRejected() {
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secrets: []) }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: "") }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: Self.secret, options: .init(maxAge: 0)) }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: Self.secret, options: .init(timeout: -1)) }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: Self.secret, options: .init(sameSite: .none)) }
        #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: Self.secret, options: .init(cookieName: "bad name")) }
    }

    @Test func shortSecretsNeedAnExplicitOption() throws {
        let short = String(repeating: "s", count: SignedSessionSerializer.minimumSecretLength - 1)
        let long = String(repeating: "s", count: SignedSessionSerializer.minimumSecretLength)
        let error = #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secret: short) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("31 bytes") == true, "\(String(describing: error))")
        #expect(error?.message.contains("allowShortSecrets") == true, "the message names the option")
        // Every secret of a rotation list counts, not only the signing one.
        let rotation = #expect(throws: SessionError.self) { try SignedCookieSessionInterface(secrets: [long, "pyramid"]) }
        #expect(rotation?.message.contains("secret number 2 of 2") == true, "\(String(describing: rotation))")
        // Bytes, not characters: 16 two-byte characters are 32 bytes.
        _ = try SignedCookieSessionInterface(secret: String(repeating: "é", count: 16))
        _ = try SignedCookieSessionInterface(secret: long)
        // An existing Pyramid secret can be kept on purpose, and still signs and verifies.
        let kept = try SignedSessionSerializer(secrets: ["seekrit"], allowShortSecrets: true)
        let cookie = try kept.serialize(.array([.double(1), .double(1), .object(["a": .int(1)])]))
        #expect(try kept.deserialize(cookie) == .array([.double(1), .double(1), .object(["a": .int(1)])]))
        _ = try SignedCookieSessionInterface(secret: "seekrit", allowShortSecrets: true)
    }

    @Test func reissueTimeMustBeBelowTimeout() throws {
        for (reissue, timeout) in [(1200, 1200), (1201, 1200), (60, 30)] {
            let error = #expect(throws: SessionError.self) {
                try SignedCookieSessionInterface(secret: Self.secret, options: .init(timeout: timeout, reissueTime: reissue))
            }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("reissueTime \(reissue) is not below timeout \(timeout)") == true, "\(String(describing: error))")
        }
        _ = try SignedCookieSessionInterface(secret: Self.secret, options: .init(timeout: 1200, reissueTime: 120))
        _ = try SignedCookieSessionInterface(secret: Self.secret, options: .init(timeout: nil, reissueTime: 5000))
        _ = try SignedCookieSessionInterface(secret: Self.secret, options: .init(timeout: 1200, reissueTime: nil))
    }

    @Test func unsignedSerializersMustProduceCookieSafeText() async throws {
        let middleware = try SessionMiddleware(CookieSessionInterface(serializer: JSONSessionSerializer()))
        let error = await #expect(throws: SessionError.self) {
            try await middleware.handle(cookieHeaders: []) { try await $0.session()["x"] = 1 }
        }
        #expect(error?.code == .encodingFailed)
    }
}
