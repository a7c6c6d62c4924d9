import Foundation
import Testing
@testable import SessionKit

@Suite("Cookie headers")
struct CookieHeaderTests {
    @Test func findsValuesAcrossHeadersInOrder() {
        let headers = ["a=1; session=first; b=2", "session=second", "x=y;session=\"third\""]
        #expect(CookieHeader.values(named: "session", in: headers) == ["first", "second", "third"])
    }

    /// The middleware's array-free form gives the same values as the public one, for none,
    /// one and several values.
    @Test func arrayFreeValuesMatch() {
        let cases: [[String]] = [
            [], ["x=1"], ["session=one"], ["a=1; session=first; b=2", "session=second", "x=y;session=\"third\""],
            ["session=a; session=b; session=c; session=d; session=e"],
        ]
        for headers in cases {
            let expected = CookieHeader.values(named: "session", in: headers)
            let values = CookieHeader.cookieValues(named: "session", in: headers, limits: .default)
            #expect(values.array == expected && Array(values) == expected && values.count == expected.count)
            #expect(CookieValues(expected).array == expected && Array(CookieValues(expected)) == expected)
        }
    }

    @Test func namesMatchExactly() {
        let headers = ["Session=upper; sessionx=longer; xsession=prefixed; session =spaced; session=ok"]
        #expect(CookieHeader.values(named: "session", in: headers) == ["spaced", "ok"])
    }

    @Test func toleratesGarbage() {
        let headers = [";;; =novalue; justtext; session; \u{00}\u{FF}; session==weird; session=a=b", "", " ; "]
        #expect(CookieHeader.values(named: "session", in: headers) == ["=weird", "a=b"])
    }

    @Test func enforcesLimits() {
        let many = (0..<1000).map { "c\($0)=v" }.joined(separator: "; ") + "; session=late"
        #expect(CookieHeader.values(named: "session", in: [many]).isEmpty)
        let huge = "pad=" + String(repeating: "x", count: 20000) + "; session=late"
        #expect(CookieHeader.values(named: "session", in: [huge]).isEmpty)
        let longValue = "session=" + String(repeating: "y", count: 5000)
        #expect(CookieHeader.values(named: "session", in: [longValue]).isEmpty)
        let limits = CookieHeader.Limits(maximumHeaderBytes: 100, maximumCookies: 2, maximumValueBytes: 3)
        #expect(CookieHeader.values(named: "s", in: ["s=abc; s=abcd; s=ab"], limits: limits) == ["abc"])
    }
}

@Suite("Set-Cookie")
struct SetCookieTests {
    @Test func rendersAllAttributes() throws {
        let config = try SessionConfiguration(
            domain: ".example.com", expiry: 3600, cookieName: "sid", sameSite: .none, secure: true, path: "/app",
            partitioned: true)
        let header = SetCookie.render(value: "abc", configuration: config, now: 784_111_777)
        #expect(
            header
                == "sid=abc; Domain=.example.com; Path=/app; Max-Age=3600; Expires=Sun, 06 Nov 1994 09:49:37 GMT; Secure; HttpOnly; SameSite=None; Partitioned"
        )
    }

    @Test func sessionCookieHasNoLifetime() throws {
        let config = try SessionConfiguration(sessionCookie: true)
        let header = SetCookie.render(value: "v", configuration: config, now: 0)
        #expect(header == "session=v; Path=/; HttpOnly; SameSite=Lax")
    }

    @Test func permanentSessionsLastFourHundredDays() throws {
        for expiry in [0, nil] as [Int?] {
            let config = try SessionConfiguration(expiry: expiry)
            let header = SetCookie.render(value: "v", configuration: config, now: 0)
            #expect(header.contains("Max-Age=34560000"))
            #expect(!header.contains("Max-Age=0"))
        }
        let long = try SessionConfiguration(expiry: 10 * 365 * 86400)
        #expect(SetCookie.render(value: "v", configuration: long, now: 0).contains("Max-Age=34560000"))
    }

    @Test func deletionRepeatsDomainAndPath() throws {
        let config = try SessionConfiguration(domain: "example.com", path: "/x")
        #expect(
            SetCookie.renderDeletion(configuration: config)
                == "session=; Domain=example.com; Path=/x; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
        )
    }

    @Test(arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
        (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),  // 2100 is not a leap year
        (4_133_980_799, "Fri, 31 Dec 2100 23:59:59 GMT"),
    ])
    func formatsIMFFixdate(_ seconds: Int, _ expected: String) {
        #expect(HTTPDate.format(seconds) == expected)
    }

    /// Seeded random times from 1970 to 2200 (and every day boundary of a few leap-year
    /// Februaries) agree with Foundation's formatter.
    @Test func formatsLikeFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var rng = SplitMix64(seed: 0x0DA7_E5)
        var times = (0..<20_000).map { _ in Int(rng.next() % 7_258_118_400) }
        for year in [1972, 2000, 2024, 2096] {
            let february = Int(formatter.date(from: "Tue, 01 Feb \(year) 00:00:00 GMT")?.timeIntervalSince1970 ?? 0)
            times += (0..<31).flatMap { day in [february + day * 86400 - 1, february + day * 86400] }
        }
        for seconds in times {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(HTTPDate.format(seconds) == expected, "\(seconds)")
        }
    }
}

@Suite("Session IDs")
struct SessionIDTests {
    @Test func generatedIDsAreWellFormedAndDistinct() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = try SessionID.generate()
            #expect(id.utf8.count == 43)
            #expect(SessionID.isWellFormed(id))
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }

    @Test(arguments: [
        ("0123456789abcdef0123456789abcdef", true),  // sanic_session's uuid4().hex
        ("0123456789ABCDEF0123456789ABCDEF", false),
        ("0123456789abcdef0123456789abcde", false),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", false),  // non-zero trailing bits
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/A", false),
        ("../../../../etc/passwd", false),
        ("", false),
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\u{0}", false),
    ])
    func validatesShape(_ id: String, _ valid: Bool) {
        #expect(SessionID.isWellFormed(id) == valid)
    }
}
