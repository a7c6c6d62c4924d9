import Foundation
import SessionKitCrypto
import SessionKitTestSupport
import Testing

@testable import SessionKit

@Suite("Encrypted cookie sessions")
struct EncryptedCookieTests {
    static let key: [UInt8] = Array(0x70...0x8F)
    static let oldKey: [UInt8] = Array(repeating: 0x11, count: 32)
    static let newKey: [UInt8] = Array(repeating: 0x22, count: 32)

    func make(
        _ options: CookieSessionConfiguration = .init(), keys: [[UInt8]] = [key], clock: ManualClock = ManualClock()
    ) throws -> SessionMiddleware {
        try SessionMiddleware(EncryptedCookieSessionInterface(keys: keys, options: options, clock: clock.clock))
    }

    /// A token for `payload` made with `key` for the cookie named `cookieName`, as another
    /// PASETO implementation would make it.
    static func token(_ payload: String, key: [UInt8] = key, cookieName: String = "session", footer: [UInt8] = []) throws -> String {
        let bytes = try Array(payload.utf8).withUnsafeBytes { m in
            try Array(cookieName.utf8).withUnsafeBytes { i in try PASETOv4Local.encrypt(m, key: PASETOv4Local.Key(key), footer: footer, implicitAssertion: i) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func roundTripThroughTheBrowser() async throws {
        let middleware = try make()
        let browser = TestBrowser()
        let first = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["user"] = ["name": "Zoë", "langs": ["日本語", "😀"], "nested": [[1, 2.5, nil, true]]]
            session.flash("saved")
        }
        let value = EncryptedCookieSessionInterface.value(of: try #require(first.setCookies.first))
        #expect(value.hasPrefix("v4.local.") && !value.dropFirst(9).contains("."), "a v4.local token without a footer: \(value)")
        // The content is not readable in the cookie: none of its text is in the token's bytes.
        let body = try #require(Base64URL.decode(value.dropFirst(9))).bytes
        for text in ["Zoë", "日本語", "saved", "name", "langs"] {
            let needle = Array(text.utf8)
            #expect(!(0...(body.count - needle.count)).contains { Array(body[$0..<($0 + needle.count)]) == needle }, "\(text) is readable")
        }
        let result = try await browser.request(middleware) { context in
            let session = try await context.session()
            return (session["user"], session.popFlash())
        }
        #expect(result.value.0 == ["name": "Zoë", "langs": ["日本語", "😀"], "nested": [[1, 2.5, nil, true]]])
        #expect(result.value.1 == ["saved"])
    }

    /// The payload: the session's values beside `iat`, `exp` (RFC 3339) and `_sk_created`;
    /// `exp` is the earlier of the idle timeout and the end of the absolute lifetime.
    @Test func payloadHoldsTheSessionAndTheTimeClaims() throws {
        let interface = try EncryptedCookieSessionInterface(keys: [Self.key], options: CookieSessionConfiguration(timeout: 1200, absoluteLifetime: 3000))
        let created = 1_750_000_000.25
        for (accessed, exp) in [(1_750_000_000, "2025-06-15T15:26:40+00:00"), (1_750_002_500, "2025-06-15T15:56:40+00:00")] {
            let header = try interface.base.render(data: ["user": "ada", "n": 1], created: created, accessed: accessed, now: Double(accessed))
            let token = EncryptedCookieSessionInterface.value(of: header)
            let plain = try PASETOv4LocalTests.decrypt(token, keys: [PASETOv4Local.Key(Self.key)], footer: "", implicitAssertion: "session").message
            let claims = try JSON.decode(plain)
            #expect(claims == ["user": "ada", "n": 1, "iat": .string(ClaimTime.format(accessed)), "exp": .string(exp), "_sk_created": .double(created)])
        }
        // Neither a timeout nor a lifetime: no exp.
        let endless = try EncryptedCookieSessionInterface(keys: [Self.key], options: CookieSessionConfiguration(timeout: nil, absoluteLifetime: nil))
        let header = try endless.base.render(data: ["a": 1], created: 1_750_000_000, accessed: 1_750_000_000, now: 1_750_000_000)
        let plain = try PASETOv4LocalTests.decrypt(EncryptedCookieSessionInterface.value(of: header), keys: [PASETOv4Local.Key(Self.key)], footer: "", implicitAssertion: "session").message
        #expect(try JSON.decode(plain).objectValue?["exp"] == nil)
    }

    /// The cookie name is the implicit assertion: a token moved to another cookie is refused.
    @Test func aTokenCannotMoveToAnotherCookie() async throws {
        let log = RejectionLog()
        let clock = ManualClock()
        let sessions = try make(CookieSessionConfiguration(cookieName: "session"), clock: clock)
        let admin = try make(CookieSessionConfiguration(cookieName: "admin", onRejectedCookie: log.hook), clock: clock)
        let issued = try await sessions.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let token = EncryptedCookieSessionInterface.value(of: try #require(issued.setCookies.first))
        let moved = try await admin.handle(cookieHeaders: ["admin=\(token)"]) { try await $0.session()["user"] }
        #expect(moved.value == nil)
        #expect(log.all == [.decryptionFailed])
        #expect(try await sessions.handle(cookieHeaders: ["session=\(token)"]) { try await $0.session()["user"] }.value == "ada")
    }

    @Test func damagedTokensGiveAFreshSessionAndAReason() async throws {
        let clock = ManualClock(1_750_000_000)
        let log = RejectionLog()
        let middleware = try make(CookieSessionConfiguration(onRejectedCookie: log.hook), clock: clock)
        let good = try await middleware.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let value = EncryptedCookieSessionInterface.value(of: try #require(good.setCookies.first))
        let body = String(value.dropFirst("v4.local.".count))
        let bodyBytes = try #require(Base64URL.decode(body)).bytes
        let iat = ClaimTime.format(1_750_000_000)
        let cases: [(String, CookieRejection.Reason)] = [
            ("v3.local." + body, .unsupportedToken),
            ("v4.public." + body, .unsupportedToken),
            ("v2.local." + body, .unsupportedToken),
            ("!!garbage!!", .unsupportedToken),
            (value + ".e30", .unexpectedFooter),  // a footer ({})
            (value + ".", .unexpectedFooter),
            (try Self.token(#"{"iat":"\#(iat)","user":"mallory"}"#, footer: Array("{}".utf8)), .unexpectedFooter),
            (value + "==", .malformed),  // re-padded
            // Truncated text: an impossible length or non-zero trailing bits are malformed; a
            // truncation that happens to spell fewer bytes canonically fails the tag.
            (String(value.dropLast(1)), Base64URL.decode(value.dropFirst(9).dropLast(1))?.isCanonical == true ? .decryptionFailed : .malformed),
            (value.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "+/", .malformed),  // standard base64
            ("v4.local.AAAA", .malformed),  // shorter than a nonce and a tag
            ("v4.local.", .malformed),
            ("v4.local." + Base64URL.encode(bodyBytes.dropLast(3)), .decryptionFailed),  // truncated bytes, canonical text
            ("v4.local." + Base64URL.encode(bodyBytes.dropFirst(1)), .decryptionFailed),
            (try Self.token(#"{"iat":"\#(iat)","user":"mallory"}"#, key: Self.oldKey), .decryptionFailed),  // another key
            (try Self.token(#"{"iat":"\#(iat)","user":"mallory"}"#, cookieName: "other"), .decryptionFailed),  // another cookie
            (try Self.token("not json"), .malformedPayload),
            (try Self.token(#"[1, 2.0, {"user": "mallory"}]"#), .malformedPayload),  // a signed cookie's payload shape
            (try Self.token(#"{"user":"mallory"}"#), .malformedPayload),  // no iat
            (try Self.token(#"{"iat":1750000000,"user":"mallory"}"#), .malformedPayload),  // iat not a date-time
            (try Self.token(#"{"iat":"\#(iat)","exp":"tomorrow","user":"mallory"}"#), .malformedPayload),
            (try Self.token(#"{"iat":"\#(iat)","_sk_created":"yesterday","user":"mallory"}"#), .malformedPayload),
            (try Self.token(#"{"iat":"\#(iat)","exp":"2025-06-15T15:06:39+00:00","user":"mallory"}"#), .expired),
            (try Self.token(#"{"iat":"2025-06-15T14:06:40+00:00","user":"mallory"}"#), .timedOut),
            (try Self.token(#"{"iat":"\#(iat)","_sk_created":1740000000,"user":"mallory"}"#), .lifetimeExceeded),
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
        // Well-formed tokens from another PASETO implementation are read: iat alone, or with exp
        // and other claims (kept as session values).
        let foreign = try Self.token(#"{"iat":"\#(iat)","exp":"2025-06-15T16:06:40+00:00","sub":"ada","user":"ada"}"#)
        let read = try await middleware.handle(cookieHeaders: ["session=\(foreign)"]) { context in
            let session = try await context.session()
            return (session["user"], session["sub"], session.isNew)
        }
        #expect(read.value.0 == "ada" && read.value.1 == "ada" && !read.value.2)
    }

    /// A token whose tag does not verify is refused as such, whatever its plaintext would be:
    /// nothing is decrypted or parsed before the tag is checked.
    @Test func theTagIsCheckedBeforeTheContent() throws {
        let log = RejectionLog()
        let interface = try EncryptedCookieSessionInterface(keys: [Self.key], options: CookieSessionConfiguration(onRejectedCookie: log.hook))
        for payload in ["not json", "{}", "[1, 2.0, {}]", ""] {
            let body = try #require(Base64URL.decode(try Self.token(payload).dropFirst("v4.local.".count))).bytes
            for index in [0, 31, body.count - 32, body.count - 1] {  // nonce and tag
                var changed = body
                changed[index] ^= 0x01
                #expect(interface.base.decode("v4.local." + Base64URL.encode(changed), now: 1_700_000_000) == nil)
            }
        }
        #expect(log.all == Array(repeating: .decryptionFailed, count: 16))
    }

    @Test func keyRotationDecryptsWithOldKeysAndReissues() async throws {
        let clock = ManualClock()
        let old = try make(keys: [Self.oldKey], clock: clock)
        let first = try await old.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let oldCookie = String(try #require(first.setCookies.first).prefix { $0 != ";" })
        let rotated = try make(CookieSessionConfiguration(reissueTime: nil), keys: [Self.newKey, Self.oldKey], clock: clock)
        let read = try await rotated.handle(cookieHeaders: [oldCookie]) { try await $0.session()["user"] }
        #expect(read.value == "ada")
        let reissued = try #require(read.setCookies.first, "a cookie decrypted with an older key is re-issued")
        let newOnly = try make(keys: [Self.newKey], clock: clock)
        #expect(try await newOnly.handle(cookieHeaders: [String(reissued.prefix { $0 != ";" })]) { try await $0.session()["user"] }.value == "ada")
        #expect(try await newOnly.handle(cookieHeaders: [oldCookie]) { try await $0.session()["user"] }.value == nil)
        // A cookie of the current key is not re-issued on a read.
        let current = try await rotated.handle(cookieHeaders: [String(reissued.prefix { $0 != ";" })]) { try await $0.session()["user"] }
        #expect(current.value == "ada" && current.setCookies.isEmpty)
    }

    @Test func keysAndSecretsAreChecked() throws {
        #expect(throws: SessionError.self) { try EncryptedCookieSessionInterface(keys: []) }
        for bad in [[UInt8](), [UInt8](repeating: 1, count: 16), [UInt8](repeating: 1, count: 31), [UInt8](repeating: 1, count: 33), [UInt8](repeating: 1, count: 64)] {
            let error = #expect(throws: SessionError.self) { try EncryptedCookieSessionInterface(keys: [Self.key, bad]) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("key number 2 of 2 is \(bad.count) bytes") == true, "\(error?.message ?? "")")
        }
        #expect(throws: SessionError.self) { try EncryptedCookieSessionInterface(secrets: []) }
        let short = #expect(throws: SessionError.self) { try EncryptedCookieSessionInterface(secrets: [String(repeating: "s", count: 31)]) }
        #expect(short?.code == .invalidConfiguration)
        #expect(short?.message.contains("shorter than 32") == true)
        #expect(throws: Never.self) { try EncryptedCookieSessionInterface(secrets: [String(repeating: "s", count: 32)]) }
        let generated = try EncryptedCookieSessionInterface.generateKey()
        let another = try EncryptedCookieSessionInterface.generateKey()
        #expect(generated.count == 32 && generated != another)
    }

    /// A secret's key is HKDF-SHA-512 with the documented salt and info; the same secret on
    /// two servers reads the same cookies.
    @Test func secretsDeriveTheDocumentedKey() async throws {
        let secret = "correct horse battery staple, but much longer than that"
        #expect(EncryptedCookieSessionInterface.deriveKey(fromSecret: secret) == hexBytes("f8750d01992c667af7b65aeda2d219d8ed83463e17cf9fd66855c28b153d5304"))
        let clock = ManualClock()
        let a = try SessionMiddleware(EncryptedCookieSessionInterface(secrets: [secret], clock: clock.clock))
        let b = try SessionMiddleware(EncryptedCookieSessionInterface(keys: [EncryptedCookieSessionInterface.deriveKey(fromSecret: secret)], clock: clock.clock))
        let issued = try await a.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let cookie = String(try #require(issued.setCookies.first).prefix { $0 != ";" })
        #expect(try await b.handle(cookieHeaders: [cookie]) { try await $0.session()["user"] }.value == "ada")
    }

    @Test func timeoutReissueAndAbsoluteLifetime() async throws {
        let clock = ManualClock()
        let log = RejectionLog()
        let middleware = try make(
            CookieSessionConfiguration(timeout: 1200, reissueTime: 120, absoluteLifetime: 3000, onRejectedCookie: log.hook), clock: clock)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        clock.advance(by: 60)
        let early = try await browser.request(middleware) { try await $0.session()["user"] }
        #expect(early.value == "ada" && early.setCookies.isEmpty, "within reissueTime a read sends nothing")
        clock.advance(by: 100)
        let later = try await browser.request(middleware) { try await $0.session()["user"] }
        #expect(later.value == "ada" && later.setCookies.count == 1, "past reissueTime a read re-issues the cookie")
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == "ada")
        clock.advance(by: 1000)
        #expect(try await browser.request(middleware) { try await $0.session()["user"] }.value == nil)
        #expect(log.all == [.lifetimeExceeded])
        let idle = TestBrowser()
        _ = try await idle.request(middleware) { try await $0.session()["user"] = "grace" }
        clock.advance(by: 1201)
        #expect(try await idle.request(middleware) { try await $0.session()["user"] }.value == nil)
        #expect(log.all.last == .timedOut)
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
        let fits = try await browser.request(middleware) { try await $0.session()["note"] = .string(String(repeating: "y", count: 2700)) }
        #expect(try #require(fits.setCookies.first).utf8.count <= 4096)
    }

    @Test(arguments: ["iat", "exp"])
    func reservedClaimNamesCannotHoldSessionValues(_ key: String) async throws {
        let middleware = try make()
        let error = await #expect(throws: SessionError.self) {
            try await middleware.handle(cookieHeaders: []) { try await $0.session()[key] = 1 }
        }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("reserve") == true)
    }

    @Test func invalidateExpiresTheCookie() async throws {
        let middleware = try make()
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { try await $0.session()["user"] = "ada" }
        let result = try await browser.request(middleware) { try await $0.session().invalidate() }
        #expect(try #require(result.setCookies.first).contains("Max-Age=0"))
    }

    // MARK: Revocation (the signed interface's code, shared)

    @Test(arguments: ResurrectionCheck.Variant.allCases)
    func aLogoutEndsEveryCopyWithARevocationStore(_ variant: ResurrectionCheck.Variant) async throws {
        let rejections = RejectionLog()
        let interface = try EncryptedCookieSessionInterface(
            keys: [Self.key], options: CookieSessionConfiguration(onRejectedCookie: rejections.hook, revocationStore: InMemorySessionStore()))
        EndedSessionTests.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
        #expect(rejections.all.contains(.revoked))
    }

    @Test func revokeAllSessionsEndsTheUsersCookies() async throws {
        let rejections = RejectionLog()
        let middleware = try make(CookieSessionConfiguration(onRejectedCookie: rejections.hook, revocationStore: InMemorySessionStore()))
        let phone = try await RevocationCheck.login(middleware, user: "42", device: "phone")
        let laptop = try await RevocationCheck.login(middleware, user: "42", device: "laptop")
        let other = try await RevocationCheck.login(middleware, user: "7", device: "laptop")
        let copy = TestBrowser()
        copy.receive(phone.cookies.map { "\($0.key)=\($0.value)" })
        #expect(try await RevocationCheck.user(of: copy, middleware) == "42")
        _ = try await middleware.revokeAllSessions(ofUser: "42")
        #expect(try await RevocationCheck.user(of: phone, middleware) == nil)
        #expect(try await RevocationCheck.user(of: laptop, middleware) == nil)
        #expect(try await RevocationCheck.user(of: copy, middleware) == nil)
        #expect(try await RevocationCheck.user(of: other, middleware) == "7")
        #expect(rejections.all.filter { $0 == .revoked }.count == 3)
    }

    // MARK: Properties

    /// Random sessions (seeded): encrypted, then decoded by the interface to the same data,
    /// creation time and issue time.
    @Test func randomSessionsRoundTrip() throws {
        let interface = try EncryptedCookieSessionInterface(keys: [Self.key])
        var random = RandomSessions(seed: 0xE4C2_0001)
        var sizes: [Int] = []
        for i in 0..<300 {
            var data = random.session()
            let now = 1_750_000_000 + Double(i)
            let created = now - Double(i % 50) - 0.5
            let header: String
            do {
                header = try interface.base.render(data: data, created: created, accessed: Int(now), now: now)
            } catch let error as SessionError where error.code == .cookieTooLarge {
                data["long"] = nil
                header = try interface.base.render(data: data, created: created, accessed: Int(now), now: now)
            }
            sizes.append(header.utf8.count)
            let session = interface.base.decode(EncryptedCookieSessionInterface.value(of: header), now: now)
            #expect(session?.data == data)
            #expect(session?.createdAt == created)
            #expect(session?.state.withLock { $0.renewedAt } == now)
        }
        #expect(sizes.max()! > 3000, "the sizes reach towards the 4096-byte limit: \(sizes.max()!)")
    }

    /// Every truncation and every single-bit flip of tokens of several sizes is refused, with
    /// one rejection reason each, and never throws.
    @Test(arguments: [0, 40, 400, 2000])
    func everyTruncationAndEveryBitFlipIsRejected(_ size: Int) async throws {
        let log = RejectionLog()
        let interface = try EncryptedCookieSessionInterface(keys: [Self.oldKey, Self.key], options: CookieSessionConfiguration(onRejectedCookie: log.hook))
        let now = 1_750_000_000.0
        let header = try interface.base.render(data: ["s": .string(String(repeating: "é", count: size / 2))], created: now, accessed: Int(now), now: now)
        let token = Array(EncryptedCookieSessionInterface.value(of: header).utf8)
        #expect(interface.base.decode(String(decoding: token, as: UTF8.self), now: now) != nil)
        var attempts = 0
        for length in 0..<token.count {
            #expect(interface.base.decode(String(decoding: token[..<length], as: UTF8.self), now: now) == nil, "truncated to \(length)")
            attempts += 1
            // Seconds of CPU in a debug build: leave the cooperative pool to other suites now and then.
            if attempts % 256 == 0 { await Task.yield() }
        }
        for index in token.indices {
            for bit in 0..<8 {
                var changed = token
                changed[index] ^= 1 << bit
                #expect(interface.base.decode(String(decoding: changed, as: UTF8.self), now: now) == nil, "bit \(bit) of byte \(index)")
                attempts += 1
                if attempts % 256 == 0 { await Task.yield() }
            }
        }
        #expect(log.all.count == attempts)
        #expect(Set(log.all).isSubset(of: [.unsupportedToken, .unexpectedFooter, .malformed, .decryptionFailed]))
    }
}
