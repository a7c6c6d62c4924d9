import Foundation
import SessionKitCrypto
import SessionKitTestSupport
import Testing

@testable import SessionKit

/// Encrypted cookies exchanged with pyseto (PyPI), the Python PASETO implementation, in both
/// directions (Tests/Interop/paseto_cookies.py), and the Python snippet of
/// Docs/encrypted-cookies.md run on SessionKit's cookies.
@Suite("PASETO interoperability (pyseto)", .enabled(if: PythonInterop.shouldRun))
struct EncryptedCookieInteropTests {
    static let cookieNames = ["session", "sid", "app.session", "s-1"]
    static let count = 500

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func claimsJSON(_ value: SessionValue) throws -> String {
        String(decoding: try JSON.encode(value), as: UTF8.self)
    }

    /// Whether `changed` is `original` spelled differently: the same bytes in non-canonical
    /// base64url (the last character's unused bits changed), which pyseto's lenient decoder
    /// accepts and SessionKit refuses.
    static func isRespelling(_ original: String, _ changed: [UInt8]) -> Bool {
        guard let a = Base64URL.decode(original.dropFirst(9)), let b = Base64URL.decode(String(decoding: changed.dropFirst(9), as: UTF8.self)) else {
            return false
        }
        return a.bytes == b.bytes && !b.isCanonical && original.hasPrefix("v4.local.") && changed.starts(with: Array("v4.local.".utf8))
    }

    /// One random bit of `token` flipped.
    static func flipped(_ token: String, _ random: inout RandomSessions) -> [UInt8] {
        var bytes = Array(token.utf8)
        bytes[Int(random.rng.next() % UInt64(bytes.count))] ^= 1 << UInt8(random.rng.next() % 8)
        return bytes
    }

    /// 500 random sessions with random keys encrypted by SessionKit decrypt in pyseto to the
    /// same claims; the same tokens with one random bit flipped are refused by both.
    @Test func sessionKitTokensDecryptInPyseto() async throws {
        var random = RandomSessions(seed: 0x9A5E_7001)
        var operations: [[String: Any]] = []
        var expected: [SessionValue] = []
        var flips: [(String, [UInt8])] = []
        var sizes: [Int] = []
        for i in 0..<Self.count {
            let key = random.key()
            let cookieName = Self.cookieNames[i % Self.cookieNames.count]
            let interface = try EncryptedCookieSessionInterface(keys: [key], options: CookieSessionConfiguration(cookieName: cookieName))
            var data = random.session()
            let accessed = 1_750_000_000 + i * 37
            let created = Double(accessed) - Double(i % 500) - 0.25
            let header: String
            do {
                header = try interface.base.render(data: data, created: created, accessed: accessed, now: Double(accessed))
            } catch let error as SessionError where error.code == .cookieTooLarge {
                data["long"] = nil
                header = try interface.base.render(data: data, created: created, accessed: accessed, now: Double(accessed))
            }
            sizes.append(header.utf8.count)
            let token = EncryptedCookieSessionInterface.value(of: header)
            var claims = data
            claims["iat"] = .string(ClaimTime.format(accessed))
            claims["exp"] = .string(ClaimTime.format(accessed + 1200))  // the default timeout, before the 7-day lifetime
            claims["_sk_created"] = .double(created)
            expected.append(.object(claims))
            operations.append(["op": "decrypt", "key": Self.hex(key), "cookie": cookieName, "token": Self.hex(token.utf8)])
            let changed = Self.flipped(token, &random)
            #expect(interface.base.decode(String(decoding: changed, as: UTF8.self), now: Double(accessed)) == nil)
            operations.append(["op": "decrypt", "key": Self.hex(key), "cookie": cookieName, "token": Self.hex(changed)])
            flips.append((token, changed))
        }
        let results = try await PythonInterop.runJSON("paseto_cookies.py", operations)
        try #require(results.count == 2 * Self.count)
        for i in 0..<Self.count {
            let text = try #require(results[2 * i]["claims"] as? String, "token \(i) refused by pyseto: \(results[2 * i])")
            #expect(try JSON.decode(Array(text.utf8)) == expected[i], "token \(i)")
            #expect(results[2 * i + 1]["rejected"] != nil || Self.isRespelling(flips[i].0, flips[i].1), "token \(i) with a bit flipped accepted by pyseto")
        }
        #expect(sizes.max()! > 3000, "sizes reach towards the 4096-byte limit: \(sizes.max()!)")
    }

    /// 500 tokens made by pyseto from random claims decrypt in SessionKit to the same
    /// session; with one random bit flipped, both refuse them.
    @Test func pysetoTokensDecryptInSessionKit() async throws {
        var random = RandomSessions(seed: 0x9A5E_7002)
        var operations: [[String: Any]] = []
        var cases: [(key: [UInt8], cookieName: String, data: [String: SessionValue], accessed: Int, created: Double)] = []
        for i in 0..<Self.count {
            let key = random.key()
            let cookieName = Self.cookieNames[i % Self.cookieNames.count]
            var data = random.session()
            if case .string(let long)? = data["long"], long.utf8.count > 1500 { data["long"] = .string(String(long.prefix(700))) }
            let accessed = 1_750_000_000 + i * 41
            let created = Double(accessed) - Double(i % 300) - 0.5
            var claims = data
            claims["iat"] = .string(ClaimTime.format(accessed))
            claims["exp"] = .string(ClaimTime.format(accessed + 1200))
            claims["_sk_created"] = .double(created)
            operations.append(["op": "encrypt", "key": Self.hex(key), "cookie": cookieName, "claims": try Self.claimsJSON(.object(claims))])
            cases.append((key, cookieName, data, accessed, created))
        }
        let tokens = try await PythonInterop.runJSON("paseto_cookies.py", operations)
        try #require(tokens.count == Self.count)
        var flips: [[String: Any]] = []
        var changes: [(String, [UInt8])] = []
        for (i, c) in cases.enumerated() {
            let token = try #require(tokens[i]["token"] as? String)
            let interface = try EncryptedCookieSessionInterface(keys: [c.key], options: CookieSessionConfiguration(cookieName: c.cookieName))
            let session = interface.base.decode(token, now: Double(c.accessed) + 1)
            #expect(session?.data == c.data, "token \(i)")
            #expect(session?.createdAt == c.created, "token \(i)")
            let changed = Self.flipped(token, &random)
            #expect(interface.base.decode(String(decoding: changed, as: UTF8.self), now: Double(c.accessed) + 1) == nil, "token \(i), bit flipped")
            flips.append(["op": "decrypt", "key": Self.hex(c.key), "cookie": c.cookieName, "token": Self.hex(changed)])
            changes.append((token, changed))
        }
        let refused = try await PythonInterop.runJSON("paseto_cookies.py", flips)
        for (result, change) in zip(refused, changes) {
            #expect(result["rejected"] != nil || Self.isRespelling(change.0, change.1), "pyseto accepted \(String(decoding: change.1, as: UTF8.self))")
        }
    }

    /// Every single-bit change of a token from each side is refused by SessionKit, and a token
    /// moved to another cookie name by both. pyseto refuses every change but those that alter
    /// only the unused low bits of the last base64url character: it decodes non-canonical
    /// base64 leniently, so such a token is the same bytes under another spelling. Those are
    /// checked to be exactly that (SessionKit refuses them as `.malformed`).
    @Test func everySingleBitChangeIsRefusedByBoth() async throws {
        let key = (0..<32).map { UInt8($0 * 7 + 1) }
        let interface = try EncryptedCookieSessionInterface(keys: [key])
        let now = 1_750_000_000
        let ours = EncryptedCookieSessionInterface.value(
            of: try interface.base.render(data: ["user": "Zoë", "n": [1, 2]], created: Double(now), accessed: now, now: Double(now)))
        let claims = try Self.claimsJSON(["user": "ada", "iat": .string(ClaimTime.format(now))])
        let theirs = try #require(try await PythonInterop.runJSON("paseto_cookies.py", [["op": "encrypt", "key": Self.hex(key), "cookie": "session", "claims": claims]])[0]["token"] as? String)
        var operations: [[String: Any]] = []
        var changes: [(original: String, changed: [UInt8])?] = []
        for token in [ours, theirs] {
            #expect(interface.base.decode(token, now: Double(now)) != nil)
            operations.append(["op": "decrypt", "key": Self.hex(key), "cookie": "other", "token": Self.hex(token.utf8)])
            changes.append(nil)
            let bytes = Array(token.utf8)
            for index in bytes.indices {
                for bit in 0..<8 {
                    var changed = bytes
                    changed[index] ^= 1 << bit
                    #expect(interface.base.decode(String(decoding: changed, as: UTF8.self), now: Double(now)) == nil, "bit \(bit) of byte \(index)")
                    operations.append(["op": "decrypt", "key": Self.hex(key), "cookie": "session", "token": Self.hex(changed)])
                    changes.append((token, changed))
                }
            }
        }
        let results = try await PythonInterop.runJSON("paseto_cookies.py", operations)
        try #require(results.count == operations.count)
        var respelled = 0
        for (result, change) in zip(results, changes) where result["rejected"] == nil {
            // Accepted by pyseto: only a re-spelling of the same bytes may be.
            let change = try #require(change, "pyseto accepted a token under another cookie name")
            #expect(Self.isRespelling(change.original, change.changed), "pyseto accepted a changed token: \(String(decoding: change.changed, as: UTF8.self))")
            respelled += 1
        }
        // At most the last character's spare bits: a few spellings per token.
        #expect(respelled <= 2 * 8, "\(respelled) re-spellings accepted by pyseto")
    }

    /// A secret's key is the same in Python (`cryptography`'s HKDF) and in SessionKit.
    @Test func keyDerivationMatchesPython() async throws {
        let secrets = ["correct horse battery staple, but much longer than that", String(repeating: "é", count: 20), "k" + String(repeating: "0123456789", count: 10)]
        let results = try await PythonInterop.runJSON("paseto_cookies.py", secrets.map { ["op": "derive", "secret": $0] })
        for (secret, result) in zip(secrets, results) {
            #expect(result["key"] as? String == Self.hex(EncryptedCookieSessionInterface.deriveKey(fromSecret: secret)))
        }
    }

    /// The Python snippet of Docs/encrypted-cookies.md reads SessionKit's cookies (key from a
    /// secret, rotation, cookie name) and refuses a cookie moved to another name or expired.
    @Test func theDocumentedPythonSnippetReadsTheCookie() async throws {
        let old = "an-old-secret-that-is-long-enough-0123456789"
        let new = "the-new-secret-that-is-long-enough-9876543210"
        let issued = try await SessionMiddleware(EncryptedCookieSessionInterface(secrets: [old], options: CookieSessionConfiguration(cookieName: "sid")))
            .handle(cookieHeaders: []) { context in
                let session = try await context.session()
                session["user"] = ["name": "Zoë", "roles": ["admin"]]
            }
        let cookie = EncryptedCookieSessionInterface.value(of: try #require(issued.setCookies.first))
        let stale = EncryptedCookieSessionInterface.value(
            of: try EncryptedCookieSessionInterface(secrets: [new], options: CookieSessionConfiguration(cookieName: "sid"))
                .base.render(data: ["user": "old"], created: 1_700_000_000, accessed: 1_700_000_000, now: 1_700_000_000))
        let results = try await PythonInterop.runJSON(
            "encrypted_cookie_docs.py",
            [
                ["cookie": cookie, "secrets": [new, old], "cookie_name": "sid"],
                ["cookie": cookie, "secrets": [new, old], "cookie_name": "session"],
                ["cookie": stale, "secrets": [new], "cookie_name": "sid"],
            ])
        let session = try #require(results[0]["session"] as? [String: Any], "\(results[0])")
        let user = try #require(session["user"] as? [String: Any])
        #expect(user["name"] as? String == "Zoë" && user["roles"] as? [String] == ["admin"])
        #expect(session["iat"] is String && session["exp"] is String && session["_sk_created"] is Double)
        #expect(results[1]["rejected"] != nil, "another cookie name")
        #expect(results[2]["rejected"] != nil, "expired in 2023")
    }
}
