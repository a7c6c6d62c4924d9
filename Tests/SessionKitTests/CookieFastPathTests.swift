import Foundation
import SessionKitCrypto
import Testing

@testable import SessionKit

/// The signed-cookie fast paths (Python-style writer, float formatting, JSON reader,
/// signing into one buffer, parsing from the decoded buffer) against the reference
/// implementations in ReferenceJSON.swift, on seeded random and damaged input.
@Suite("Cookie fast paths")
struct CookieFastPathTests {
    static let secretOne = "secret-one-" + String(repeating: "1", count: 40)
    static let secretTwo = "secret-two-" + String(repeating: "2", count: 40)
    // MARK: Generators

    static let stringPool: [String] = [
        "a", "Z", "0", " ", "~", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{0}", "\u{01}", "\u{1F}",
        "\u{7F}", "\u{80}", "é", "ß", "€", "\u{2028}", "\u{FFFF}", "😀", "𝄞", "東", "abcdefgh", "session_",
    ]

    static func randomString(_ rng: inout SplitMix64, maxLength: Int = 40) -> String {
        let length = Int(rng.next() % UInt64(maxLength + 1))
        if rng.next() % 3 == 0 {
            // Plain ASCII runs, long enough for the word-at-a-time paths.
            return String((0..<length).map { _ in Character(Unicode.Scalar(UInt8(0x20 + rng.next() % 95))) })
        }
        return (0..<length).map { _ in stringPool[Int(rng.next() % UInt64(stringPool.count))] }.joined()
    }

    /// Keys that share long prefixes, differ only past eight bytes, contain NUL, or are empty.
    static func randomKey(_ rng: inout SplitMix64) -> String {
        switch rng.next() % 4 {
        case 0: return ["", "a", "b", "ab", "a\u{0}", "session_id", "session_ie", "session_", "sessionX", "é", "z😀"][Int(rng.next() % 11)]
        case 1: return "prefix__" + randomString(&rng, maxLength: 3)
        default: return randomString(&rng, maxLength: 12)
        }
    }

    static func randomDouble(_ rng: inout SplitMix64) -> Double {
        switch rng.next() % 6 {
        case 0:
            let d = Double(bitPattern: rng.next())
            return d.isFinite ? d : 0.5
        case 1:
            // Few decimal digits, as people write them.
            let digits = Double(rng.next() % 100_000_000)
            return digits / pow(10, Double(rng.next() % 12)) * (rng.next() & 1 == 0 ? 1 : -1)
        case 2:
            // Timestamps with microseconds.
            return 1_700_000_000 + Double(rng.next() % 200_000_000_000_000) / 1_000_000
        case 3:
            // Around the edges of the fixed-notation fast path.
            let edges: [Double] = [1e-3, 1e-4, 0x1p52, 1e15, 1e16, 0.1, 1, 2, 0x1p-10, 0x1p30, 9007199254740993]
            var d = edges[Int(rng.next() % UInt64(edges.count))]
            for _ in 0..<Int(rng.next() % 4) { d = rng.next() & 1 == 0 ? d.nextUp : d.nextDown }
            return d
        case 4:
            // Powers of two (the narrower gap below) and halves.
            return Double(sign: .plus, exponent: Int(rng.next() % 70) - 20, significand: 1) * (rng.next() & 1 == 0 ? 1 : 1.5)
        default:
            return Double(Int64(bitPattern: rng.next()) >> (rng.next() % 64)) + 0.5 * Double(rng.next() % 3)
        }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> SessionValue {
        switch rng.next() % (depth > 4 ? 6 : 8) {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2: return .int(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64))
        case 3, 4: return .double(randomDouble(&rng))
        case 5: return .string(randomString(&rng))
        case 6: return .array((0..<Int(rng.next() % 6)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var object: [String: SessionValue] = [:]
            let count = rng.next() % 5 == 0 ? Int(rng.next() % 40) : Int(rng.next() % 6)
            for _ in 0..<count { object[randomKey(&rng)] = randomValue(&rng, depth: depth + 1) }
            return .object(object)
        }
    }

    /// Equality that tells -0.0 from 0.0 (SessionValue's `==` does not).
    static func same(_ a: SessionValue, _ b: SessionValue) -> Bool {
        switch (a, b) {
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: return a == b
        }
    }

    /// Runs both readers on `bytes`: the same value, or the same error message.
    static func expectSameDecoding(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        func run(_ body: () throws -> SessionValue) -> Result<SessionValue, SessionError> {
            do { return .success(try body()) } catch { return .failure(error as? SessionError ?? SessionError(.unsupported, "not a SessionError: \(error)")) }
        }
        let fast = run { try JSON.decode(bytes) }
        let reference = run { try ReferenceJSON.decode(bytes) }
        switch (fast, reference) {
        case (.success(let a), .success(let b)):
            #expect(same(a, b), "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)):
            #expect(a.code == b.code && a.message == b.message, "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        default:
            Issue.record("fast \(fast) but reference \(reference) for \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        }
    }

    // MARK: Writer

    @Test func pythonWriterMatchesReference() throws {
        var rng = SplitMix64(seed: 0xC00C_1E)
        for _ in 0..<3000 {
            let value = Self.randomValue(&rng)
            let fast = try JSONSessionSerializer().serialize(value)
            #expect(fast == (try ReferencePythonJSON.serialize(value)), "\(value)")
        }
    }

    @Test func floatsMatchDescription() throws {
        var rng = SplitMix64(seed: 0xF10A7)
        var fastPathHits = 0
        for _ in 0..<60_000 {
            let d = Self.randomDouble(&rng)
            if PythonJSONWriter.shortFixed(d.magnitude) != nil { fastPathHits += 1 }
            var out = JSONBuffer(capacity: 16)
            try PythonJSONWriter.writeDouble(d, into: &out)
            #expect(out.array == Array(d.description.utf8), "\(d.bitPattern)")
        }
        #expect(fastPathHits > 20_000, "most generated floats take the fast path: \(fastPathHits)")
        // The benchmark's and the interop tests' values take it too.
        for d in [1_795_299_123.456789, 19.99, 2.5, 0.1, 2.0, 0.001, 4503599627370495.5] {
            let fixed = try #require(PythonJSONWriter.shortFixed(d))
            var out = JSONBuffer(capacity: 16)
            PythonJSONWriter.writeFixed(negative: false, mantissa: fixed.0, fractionDigits: fixed.1, into: &out)
            #expect(out.array == Array(d.description.utf8))
        }
        #expect(PythonJSONWriter.shortFixed(1e-4) == nil && PythonJSONWriter.shortFixed(0x1p52) == nil)
        var out = JSONBuffer(capacity: 16)
        #expect(throws: SessionError.self) { try PythonJSONWriter.writeDouble(.nan, into: &out) }
        #expect(throws: SessionError.self) { try PythonJSONWriter.writeDouble(-.infinity, into: &out) }
    }

    @Test func writerGrowsPastItsFirstBuffer() throws {
        let long = String(repeating: "é\u{1}x\"😀", count: 3000)
        let value: SessionValue = ["a": .string(long), "b": .array(Array(repeating: .string(long), count: 3))]
        #expect(try JSONSessionSerializer().serialize(value) == (try ReferencePythonJSON.serialize(value)))
    }

    // MARK: Reader

    @Test func readerMatchesReferenceOnGeneratedDocuments() throws {
        var rng = SplitMix64(seed: 0x7EAD)
        for _ in 0..<2000 {
            let value = Self.randomValue(&rng)
            let python = try JSONSessionSerializer().serialize(value)
            let compact = try JSON.encode(value)
            Self.expectSameDecoding(python)
            Self.expectSameDecoding(compact)
            #expect(Self.same(try JSON.decode(python), value))
        }
    }

    @Test func readerMatchesReferenceOnDamagedDocuments() throws {
        var rng = SplitMix64(seed: 0xBAD)
        let noise = Array("{}[]\",:\\ 0123456789.-+eEtfnu\u{1}".utf8) + [0x80, 0xC3, 0xFF, 0xED, 0xF0]
        for _ in 0..<4000 {
            var bytes = try JSONSessionSerializer().serialize(Self.randomValue(&rng))
            for _ in 0..<Int(1 + rng.next() % 3) {
                guard !bytes.isEmpty else { break }
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = noise[Int(rng.next() % UInt64(noise.count))]
                case 1: bytes.insert(noise[Int(rng.next() % UInt64(noise.count))], at: at)
                default: bytes.removeSubrange(at...)
                }
            }
            Self.expectSameDecoding(bytes)
        }
    }

    @Test func readerMatchesReferenceOnNumbers() {
        var rng = SplitMix64(seed: 0x1234)
        func digits(_ count: UInt64) -> String { String((0..<count).map { _ in Character(Unicode.Scalar(UInt8(0x30 + rng.next() % 10))) }) }
        for _ in 0..<30_000 {
            var text = rng.next() & 1 == 0 ? "-" : ""
            text += rng.next() % 4 == 0 ? "0" : String(1 + rng.next() % 9) + digits(rng.next() % 22)
            if rng.next() % 4 != 0 { text += "." + digits(rng.next() % 24) }
            if rng.next() % 3 == 0 {
                text += ["e", "E", "e+", "e-", "E-"][Int(rng.next() % 5)] + String(rng.next() % (rng.next() & 1 == 0 ? 30 : 400))
            }
            Self.expectSameDecoding(Array(text.utf8))
            Self.expectSameDecoding(Array("[\(text), \(text)]".utf8))
        }
        for text in ["0", "-0", "-0.0", "0e0", "1e22", "1e23", "9007199254740993", "9007199254740993.0", "2.2250738585072014e-308",
            "4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "0.1e-22", "123456789012345678901234567890", "1e0000000000000000001",
            "1." + String(repeating: "0", count: 40) + "1", "0.0000000000000000000000000000001"]
        {
            Self.expectSameDecoding(Array(text.utf8))
        }
    }

    @Test func readerMatchesReferenceOnStringsAndNesting() {
        for text in [
            #""plain ascii that is longer than eight bytes""#, #""\u00e9\ud83d\ude00 mixed é 😀 and \" \\ \/ \b\f\n\r\t""#,
            "\"tab\there\"", "\"0123456\u{1}\"", "\"012345678901234\u{1F}\"", "\"\u{7F}\u{80}\"", "\"abcdefg\\", "\"abcdefgh",
            "\"abcdefgh\\u12", "\"\\ud800\\u0041\"", "\"\\udc00\"", "\"a\u{C3}\"", "\"\u{ED}\u{A0}\u{80}\"", "\"01234567\u{F0}\u{9F}\u{98}\"",
            #"{"a":1,"a":{"b":[1,2,{"a":3}]},"c":[],"d":{}}"#, #"{"":"", " ":[ ], "\u0000":null}"#, "[1,[2,[3,[4,[5]]]],6]",
            String(repeating: "[", count: 64) + String(repeating: "]", count: 64), String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
            String(repeating: "{\"k\":", count: 64) + "1" + String(repeating: "}", count: 64), String(repeating: "[{\"k\":", count: 40),
        ] {
            var bytes = Array(text.utf8)
            Self.expectSameDecoding(bytes)
            // The same with invalid UTF-8 bytes swapped in where the text has non-ASCII.
            if let at = bytes.firstIndex(where: { $0 >= 0x80 }) {
                bytes[at] = 0xFF
                Self.expectSameDecoding(bytes)
            }
        }
    }

    // MARK: Signing

    /// A serializer other than JSONSessionSerializer, to keep the general path covered.
    struct CompactSerializer: SessionSerializer {
        func serialize(_ value: SessionValue) throws -> [UInt8] { try JSON.encode(value) }
        func deserialize(_ bytes: [UInt8]) throws -> SessionValue { try JSON.decode(bytes) }
    }

    @Test(arguments: SignedSessionSerializer.HashAlgorithm.allCases)
    func signedSerializerMatchesSignThenEncode(_ algorithm: SignedSessionSerializer.HashAlgorithm) throws {
        let signed = try SignedSessionSerializer(secrets: [Self.secretOne, Self.secretTwo], hashAlgorithm: algorithm)
        let compact = try SignedSessionSerializer(secrets: [Self.secretOne], hashAlgorithm: algorithm, serializer: CompactSerializer())
        let key = Array(("pyramid.session." + Self.secretOne).utf8)
        var rng = SplitMix64(seed: 0x5167)
        for _ in 0..<300 {
            let value = Self.randomValue(&rng)
            let payload = try ReferencePythonJSON.serialize(value)
            let mac: [UInt8] =
                switch algorithm {
                case .sha256: Array(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key)))
                case .sha384: Array(HMAC<SHA384>.authenticationCode(for: payload, using: SymmetricKey(data: key)))
                case .sha512: Array(HMAC<SHA512>.authenticationCode(for: payload, using: SymmetricKey(data: key)))
                }
            let cookie = try signed.serialize(value)
            #expect(cookie == Array(Base64URL.encode(mac + payload).utf8))
            #expect(signed.sign(payload) == cookie)
            #expect(Self.same(try signed.deserialize(cookie), value))
            let opened = try cookie.withUnsafeBytes { try signed.open($0) }
            #expect(Self.same(opened.value, value) && opened.secretIndex == 0)
            #expect(try signed.unsign(cookie).payload == payload)
            let other = try compact.serialize(value)
            #expect(try compact.unsign(other).payload == (try JSON.encode(value)))
            #expect(Self.same(try compact.deserialize(other), value))
        }
    }

    @Test func signedSerializerRejectsWithTheSameErrors() throws {
        let signed = try SignedSessionSerializer(secrets: [Self.secretOne])
        let good = try signed.serialize(["user": "ada"])
        let text = String(decoding: good, as: UTF8.self)
        var firstChanged = good
        firstChanged[0] = firstChanged[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let cases: [([UInt8], SessionError.Code, String)] = [
            (Array((text + "!").utf8), .malformedData, "the signed value is not base64url text"),
            (Array("AAAAA".utf8), .malformedData, "the signed value is not base64url text"),
            (Array("AAAA===".utf8), .malformedData, "the signed value is not base64url text"),
            (Array("Zg==".utf8), .malformedData, "the signed value is not in canonical form (padding or trailing bits were changed)"),
            (Array("Zh".utf8), .malformedData, "the signed value is not in canonical form (padding or trailing bits were changed)"),
            (Array("Zm9v".utf8), .malformedData, "the signed value is 3 bytes, shorter than a 64-byte signature"),
            ([], .malformedData, "the signed value is 0 bytes, shorter than a 64-byte signature"),
            (Array(text.utf8.dropFirst(4)), .invalidSignature,
                "the signature does not match: the value was tampered with, truncated, or signed with another secret"),
            (firstChanged, .invalidSignature,
                "the signature does not match: the value was tampered with, truncated, or signed with another secret"),
        ]
        for (bytes, code, message) in cases {
            for attempt in [{ _ = try signed.deserialize(bytes) }, { _ = try signed.unsign(bytes) }] {
                let error = #expect(throws: SessionError.self) { try attempt() }
                #expect(error?.code == code, "\(String(decoding: bytes, as: UTF8.self))")
                #expect(error?.message == message)
            }
        }
        // A valid signature over invalid JSON fails in the reader, after verification.
        let bad = signed.sign(Array("[1, 2".utf8))
        let error = #expect(throws: SessionError.self) { _ = try signed.deserialize(bad) }
        #expect(error?.message.hasPrefix("invalid JSON") == true)
        #expect(try signed.unsign(bad).payload == Array("[1, 2".utf8))
    }
}
