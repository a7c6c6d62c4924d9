import Testing
@testable import SessionKit

@Suite("JSON codec")
struct JSONTests {
    @Test(arguments: [
        (#"{"a":1}"#, SessionValue.object(["a": 1])),
        (#" [1, -2, 3.5, 1e3, -0.0, true, false, null] "#, [1, -2, 3.5, 1000.0, -0.0, true, false, nil]),
        (#""\u00e9\ud83d\ude00\n\"\\\/""#, .string("é😀\n\"\\/")),
        (#"9223372036854775807"#, .int(Int.max)),
        (#"-9223372036854775808"#, .int(Int.min)),
        (#"9223372036854775808"#, .double(9223372036854775808)),
        (#"{"a":{"b":[{}]},"a":2}"#, ["a": 2]),
    ] as [(String, SessionValue)])
    func decodesValidJSON(_ text: String, _ expected: SessionValue) throws {
        #expect(try JSON.decode(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        "", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "1e", "-", "+1", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}b\"", "[1] 2", "NaN", "Infinity", "1e999",
        "{\"a\":1,}", "[\"\\u12\"]",
    ])
    func rejectsMalformedJSON(_ text: String) {
        #expect(throws: SessionError.self) { try JSON.decode(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: SessionError.self) { try JSON.decode([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: SessionError.self) { try JSON.decode([0x22, 0x5C, 0x6E, 0xC3, 0x22]) }
    }

    @Test func limitsNesting() throws {
        let ok = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        #expect(throws: Never.self) { try JSON.decode(Array(ok.utf8)) }
        let deep = String(repeating: "[", count: 100_000)
        let error = #expect(throws: SessionError.self) { try JSON.decode(Array(deep.utf8)) }
        #expect(error?.code == .malformedData)
        #expect(error?.message.contains("nesting") == true)
    }

    @Test func encodesCompactAndEscaped() throws {
        #expect(try JSON.encode(["k": "a\"b\\c\n\u{01}é"]) == Array(#"{"k":"a\"b\\c\n\u0001é"}"#.utf8))
        #expect(try JSON.encode([1, 2.0, 2.5, -0.0, nil, true]) == Array("[1,2.0,2.5,-0.0,null,true]".utf8))
        #expect(throws: SessionError.self) { try JSON.encode(.double(.infinity)) }
        #expect(throws: SessionError.self) { try JSON.encode(.double(.nan)) }
    }

    /// Non-integral doubles are written as `description` spells them (the shortest text that
    /// reads back the same), through a stack buffer rather than a String.
    @Test func doublesAreWrittenAsTheirDescription() throws {
        var rng = SplitMix64(seed: 22)
        var doubles: [Double] = [
            1_795_299_123.456789, 19.99, -2.5, 0.1, 1e-7, 1e15 + 0.5, 1e300, -1.7976931348623157e308,
            -2.2250738585072014e-308, 5e-324, .leastNormalMagnitude, .greatestFiniteMagnitude, 123_456_789_012_345_680,
        ]
        while doubles.count < 5_000 {
            let d = Double(bitPattern: rng.next())
            if d.isFinite { doubles.append(d) }
        }
        for d in doubles where d != d.rounded(.towardZero) || abs(d) >= 1e15 {
            #expect(String(decoding: try JSON.encode(.double(d)), as: UTF8.self) == d.description)
        }
    }

    @Test func storedSessionsPutTheCreationTimeFirst() throws {
        let bytes = try JSON.encodeStoredSession(["a": 1], created: 5)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"_sk_created":5,"a":1}"#)
        #expect(String(decoding: try JSON.encodeStoredSession([:], created: -7), as: UTF8.self) == #"{"_sk_created":-7}"#)
    }

    /// The stored-session decoder takes the creation time out wherever it is, keeps the last
    /// of repeated keys like any object, and tells "not an object" from "not JSON".
    @Test func storedSessionDecodingTakesTheCreationTimeOut() throws {
        let decoded = try #require(try JSON.decodeStoredSession(Array(#" {"a":1,"_sk_created":5,"b":{"_sk_created":2}} "#.utf8)))
        #expect(decoded.data == ["a": 1, "b": ["_sk_created": 2]])
        #expect(decoded.created == 5)
        let repeated = try #require(try JSON.decodeStoredSession(Array(#"{"_sk_created":1,"_sk_created":"x"}"#.utf8)))
        #expect(repeated.data.isEmpty)
        #expect(repeated.created == "x")
        let without = try #require(try JSON.decodeStoredSession(Array(#"{"a":[]}"#.utf8)))
        #expect(without.data == ["a": []] && without.created == nil)
        #expect(try JSON.decodeStoredSession(Array("[1]".utf8)) == nil)
        #expect(try JSON.decodeStoredSession(Array(#""text""#.utf8)) == nil)
        for garbage in [#"{"a":1"#, #"{"a":1}x"#, "", "{", #"[1] 2"#, #"{"_sk_created":}"#] {
            #expect(throws: SessionError.self, "\(garbage)") { try JSON.decodeStoredSession(Array(garbage.utf8)) }
        }
    }

    /// Seeded random values survive encode then decode unchanged.
    @Test func randomRoundTrips() throws {
        var rng = SplitMix64(seed: 0x5E55_1014)
        for _ in 0..<2000 {
            let value = randomValue(&rng, depth: 0)
            let bytes = try JSON.encode(value)
            #expect(try JSON.decode(bytes) == value)
        }
    }

    func randomValue(_ rng: inout SplitMix64, depth: Int) -> SessionValue {
        let pick = Int(rng.next() % (depth > 3 ? 5 : 7))
        switch pick {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2: return .int(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64))
        case 3:
            let d = Double(bitPattern: rng.next())
            return d.isFinite ? .double(d) : .double(Double(rng.next() % 1000) / 7)
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var object: [String: SessionValue] = [:]
            for _ in 0..<Int(rng.next() % 5) { object[randomString(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(object)
        }
    }

    func randomString(_ rng: inout SplitMix64) -> String {
        let pool: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{7F}", "é", "€", "😀", "\u{2028}"]
        return String((0..<Int(rng.next() % 12)).map { _ in pool[Int(rng.next() % UInt64(pool.count))] })
    }
}

/// A small seeded generator (SplitMix64) for repeatable random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
