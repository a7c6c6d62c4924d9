import Foundation
import SessionKitTestSupport
import Testing

@testable import SessionKit

/// Signed cookies exchanged with the real pyramid (PyPI) in both directions.
@Suite("Pyramid interoperability", .enabled(if: PythonInterop.shouldRun))
struct PyramidInteropTests {
    static let secret = "interop-secret-" + String(repeating: "x", count: 50)

    static let payloads: [SessionValue] = [
        ["user": "ada", "visits": 3],
        ["name": "Zoë Ñúñez", "city": "東京", "emoji": "😀🎉", "sep": "\u{2028}", "quote": "\"\\/\n\t", "controls": "\u{7F}\u{1F}\u{0}"],
        ["nested": ["a": [1, [2, [3, ["deep": true]]]], "b": ["c": nil]], "list": [["x": 1], ["y": [nil, false]]]],
        ["int": 9_007_199_254_740_993, "neg": -42, "float": 0.1, "tiny": 1e-7, "big": 1.5e300, "whole": 2.0, "zero": 0],
        [:],
        ["_f_": ["saved", "again"], "_f_error": ["oops"], "_csrft_": "0123456789abcdef0123456789abcdef01234567"],
    ]

    static func json(_ value: SessionValue) throws -> String {
        String(decoding: try JSON.encode(value), as: UTF8.self)
    }

    static func settings(_ algorithm: SignedSessionSerializer.HashAlgorithm, _ extra: [String: Any] = [:]) -> [String: Any] {
        var settings: [String: Any] = ["secret": secret, "hashalg": algorithm.rawValue]
        settings.merge(extra) { _, new in new }
        return settings
    }

    static func state(_ result: [String: Any]) throws -> SessionValue {
        let text = try #require(result["state_json"] as? String)
        return try JSON.decode(Array(text.utf8))
    }

    static func cookieValue(_ header: String) -> String {
        String(header.drop { $0 != "=" }.dropFirst().prefix { $0 != ";" })
    }

    @Test(arguments: [SignedSessionSerializer.HashAlgorithm.sha512, .sha256])
    func sessionKitCookiesAreReadByPyramid(_ algorithm: SignedSessionSerializer.HashAlgorithm) async throws {
        let interface = try SignedCookieSessionInterface(secret: Self.secret, hashAlgorithm: algorithm)
        let middleware = try SessionMiddleware(interface)
        var operations: [[String: Any]] = []
        for payload in Self.payloads {
            let cookie: String
            if case .object(let members) = payload, !members.isEmpty {
                let result = try await middleware.handle(cookieHeaders: []) { context in
                    let session = try await context.session()
                    for (key, value) in members { session[key] = value }
                }
                cookie = Self.cookieValue(try #require(result.setCookies.first))
            } else {
                // An empty session sends no cookie; render one directly to check pyramid reads it.
                cookie = Self.cookieValue(try interface.base.render(data: [:], created: Date().timeIntervalSince1970, accessed: Int(Date().timeIntervalSince1970), now: 0))
            }
            operations.append(["op": "decode", "cookie": cookie, "settings": Self.settings(algorithm)])
        }
        let results = try await PythonInterop.runJSON("pyramid_cookies.py", operations)
        try #require(results.count == Self.payloads.count, "pyramid answered \(results.count) of \(Self.payloads.count) payloads")
        for (payload, result) in zip(Self.payloads, results) {
            #expect(result["new"] as? Bool == false, "pyramid accepted the cookie for \(payload)")
            #expect(try Self.state(result) == payload)
        }
        // pyramid's own flash and CSRF API see SessionKit's values.
        let flash = try #require(results.last)
        #expect(flash["flash"] as? [String] == ["saved", "again"])
        #expect(flash["csrf"] as? String == "0123456789abcdef0123456789abcdef01234567")
    }

    @Test(arguments: [SignedSessionSerializer.HashAlgorithm.sha512, .sha256])
    func pyramidCookiesAreReadBySessionKit(_ algorithm: SignedSessionSerializer.HashAlgorithm) async throws {
        let operations = try Self.payloads.map { payload -> [String: Any] in
            ["op": "encode", "state_json": try Self.json(payload), "settings": Self.settings(algorithm)]
        }
        let results = try await PythonInterop.runJSON("pyramid_cookies.py", operations)
        try #require(results.count == Self.payloads.count, "pyramid answered \(results.count) of \(Self.payloads.count) payloads")
        let middleware = try SessionMiddleware(SignedCookieSessionInterface(secret: Self.secret, hashAlgorithm: algorithm))
        for (payload, result) in zip(Self.payloads, results) {
            guard case .object(let members) = payload, !members.isEmpty else {
                #expect(result["cookie"] is NSNull, "pyramid sends no cookie for an untouched empty session")
                continue
            }
            let cookie = try #require(result["cookie"] as? String)
            let seen = try await middleware.handle(cookieHeaders: ["session=\(cookie)"]) { context in
                let session = try await context.session()
                return (session.data, session.isNew)
            }
            #expect(!seen.value.1)
            #expect(SessionValue.object(seen.value.0) == payload)
        }
        // Flash and CSRF written by pyramid work through SessionKit's API.
        let flashCookie = try #require(results.last?["cookie"] as? String)
        let flash = try await middleware.handle(cookieHeaders: ["session=\(flashCookie)"]) { context in
            let session = try await context.session()
            return (session.popFlash(), session.popFlash(queue: "error"), session.isValidCSRFToken("0123456789abcdef0123456789abcdef01234567"))
        }
        #expect(flash.value.0 == ["saved", "again"] && flash.value.1 == ["oops"] && flash.value.2)
    }

    /// With the same timestamps and state, SessionKit's cookie is pyramid's, byte for byte.
    @Test(arguments: [SignedSessionSerializer.HashAlgorithm.sha512, .sha256])
    func cookiesAreByteIdentical(_ algorithm: SignedSessionSerializer.HashAlgorithm) async throws {
        let interface = try SignedCookieSessionInterface(secret: Self.secret, hashAlgorithm: algorithm)
        let accessed = 1_795_300_000, created = 1_795_299_123.456789
        let operations = try Self.payloads.map { payload -> [String: Any] in
            ["op": "dumps", "accessed": accessed, "created": created, "state_json": try Self.json(payload), "settings": Self.settings(algorithm)]
        }
        let results = try await PythonInterop.runJSON("pyramid_cookies.py", operations)
        try #require(results.count == Self.payloads.count, "pyramid answered \(results.count) of \(Self.payloads.count) payloads")
        for (payload, result) in zip(Self.payloads, results) {
            let ours = Self.cookieValue(try interface.base.render(data: payload.objectValue ?? [:], created: created, accessed: accessed, now: 0))
            #expect(ours == result["cookie"] as? String, "\(payload)")
        }
    }

    @Test func timeoutAndReissueAgreeWithPyramid() async throws {
        let now = Date().timeIntervalSince1970
        // A cookie SessionKit issued 100 s ago (its clock set back).
        let past = ManualClock(now - 100)
        let issuer = try SessionMiddleware(SignedCookieSessionInterface(secret: Self.secret, clock: past.clock))
        let issued = try await issuer.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }
        let recent = Self.cookieValue(try #require(issued.setCookies.first))
        // A cookie SessionKit issued 2000 s ago.
        let older = ManualClock(now - 2000)
        let oldIssuer = try SessionMiddleware(SignedCookieSessionInterface(secret: Self.secret, clock: older.clock))
        let stale = Self.cookieValue(try #require(try await oldIssuer.handle(cookieHeaders: []) { try await $0.session()["user"] = "ada" }.setCookies.first))

        let results = try await PythonInterop.runJSON("pyramid_cookies.py", [
            ["op": "decode", "cookie": recent, "read": true, "settings": Self.settings(.sha512, ["reissue_time": 60])],
            ["op": "decode", "cookie": recent, "read": true, "settings": Self.settings(.sha512, ["reissue_time": 200])],
            ["op": "decode", "cookie": stale, "read": true, "settings": Self.settings(.sha512, ["timeout": 1200])],
            ["op": "decode", "cookie": stale, "read": true, "settings": Self.settings(.sha512, ["timeout": 3000])],
            ["op": "dumps", "accessed": Int(now) - 100, "created": now - 100, "state_json": #"{"user": "grace"}"#, "settings": Self.settings(.sha512)],
            ["op": "dumps", "accessed": Int(now) - 2000, "created": now - 2000, "state_json": #"{"user": "grace"}"#, "settings": Self.settings(.sha512)],
        ])
        #expect(results[0]["reissued"] as? Bool == true, "pyramid re-issues: 100 s > reissue_time 60")
        #expect(results[1]["reissued"] as? Bool == false, "pyramid does not: 100 s < reissue_time 200")
        #expect(try Self.state(results[2]) == [:], "pyramid drops a session idle 2000 s > timeout 1200")
        #expect(try Self.state(results[3]) == ["user": "ada"], "and keeps it with timeout 3000")

        let pyRecent = try #require(results[4]["cookie"] as? String), pyStale = try #require(results[5]["cookie"] as? String)
        func read(_ cookie: String, _ options: CookieSessionConfiguration) async throws -> (SessionValue?, Bool) {
            let middleware = try SessionMiddleware(SignedCookieSessionInterface(secret: Self.secret, options: options))
            let result = try await middleware.handle(cookieHeaders: ["session=\(cookie)"]) { try await $0.session()["user"] }
            return (result.value, !result.setCookies.isEmpty)
        }
        #expect(try await read(pyRecent, .init(reissueTime: 60)) == ("grace", true))
        #expect(try await read(pyRecent, .init(reissueTime: 200)) == ("grace", false))
        #expect(try await read(pyStale, .init(timeout: 1200)).0 == nil)
        #expect(try await read(pyStale, .init(timeout: 3000)).0 == "grace")
    }
}
