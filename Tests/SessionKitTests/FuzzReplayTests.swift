import SessionKit
import SessionKitTestSupport
import Testing

/// Replays the committed fuzz inputs (Fuzz/Corpus and Fuzz/Regressions) of the SessionKit
/// targets through the same checks the libFuzzer binaries run (Tests/SessionKitTests/Fuzzing),
/// so an input that once failed keeps passing.
@Suite("Fuzz replay")
struct FuzzReplayTests {
    static func check(_ target: String, _ input: [UInt8]) throws {
        switch target {
        case "cookie_header": try CookieHeaderFuzz.run(input)
        case "signed_cookie": try SignedCookieFuzz.run(input)
        case "encrypted_cookie": try EncryptedCookieFuzz.run(input)
        case "json": try JSONFuzz.run(input)
        case "session_id": try SessionIDFuzz.run(input)
        default: Issue.record("unknown fuzz target \(target)")
        }
    }

    @Test(arguments: ["cookie_header", "signed_cookie", "encrypted_cookie", "json", "session_id"])
    func replaysCorpusAndRegressions(_ target: String) throws {
        let corpus = try FuzzInputs.corpus(target)
        let regressions = try FuzzInputs.regressions(target)
        #expect(corpus.count >= 5, "the seed corpus of \(target) is missing")
        for input in corpus + regressions {
            do {
                try Self.check(target, input.bytes)
            } catch {
                Issue.record("\(input.path): \(error)")
            }
        }
    }

    /// Fuzz/Regressions/cookie_header/pair-cut-by-byte-budget: a pair cut by
    /// `maximumHeaderBytes` used to come back with its value truncated.
    @Test func pairCutByTheByteBudgetIsIgnored() {
        let limits = CookieHeader.Limits(maximumHeaderBytes: 9)
        #expect(CookieHeader.values(named: "sid", in: ["sid=abcdefgh"], limits: limits) == [])
        #expect(CookieHeader.values(named: "sid", in: ["sid=abcde; other=1"], limits: limits) == ["abcde"])
        #expect(CookieHeader.values(named: "sid", in: ["sid=abcde"], limits: limits) == ["abcde"])
        #expect(CookieHeader.values(named: "sid", in: ["sid=a; sid=bcdef"], limits: limits) == ["a"])
        #expect(CookieHeader.values(named: "sid", in: ["sid=abcde", "sid=x"], limits: limits) == ["abcde"])
    }
}
