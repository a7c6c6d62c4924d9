import SessionKitCrypto
import Testing

@Suite("Base64URL (RFC 4648 section 5)")
struct Base64URLTests {
    /// RFC 4648 section 10 vectors, without padding, plus bytes that use `-` and `_`.
    static let vectors: [(String, String)] = [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 vectors encode unpadded and decode canonically", arguments: vectors)
    func rfcVectors(plain: String, encoded: String) throws {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.encodedLength(of: plain.utf8.count) == encoded.utf8.count)
        let decoded = try #require(Base64URL.decode(encoded))
        #expect(decoded.bytes == Array(plain.utf8))
        #expect(decoded.isCanonical)
    }

    @Test("the URL-safe characters replace + and /")
    func urlSafeAlphabet() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64URL.encode(bytes) == "-_-_")
        #expect(try #require(Base64URL.decode("-_-_")).bytes == bytes)
        #expect(Base64URL.decode("+/+/") == nil)
    }

    @Test("padded input decodes but is not canonical", arguments: [("Zg==", "f"), ("Zm8=", "fo"), ("Zm9vYg==", "foob")])
    func paddingAccepted(padded: String, plain: String) throws {
        let decoded = try #require(Base64URL.decode(padded))
        #expect(decoded.bytes == Array(plain.utf8))
        #expect(!decoded.isCanonical)
    }

    @Test("non-zero trailing bits decode but are not canonical", arguments: [("Zh", "f"), ("Zm9", "fo"), ("Zm-", "f\u{00BE}")])
    func trailingBits(text: String, plain: String) throws {
        let decoded = try #require(Base64URL.decode(text))
        #expect(decoded.bytes.first == UInt8(ascii: "f"))
        #expect(!decoded.isCanonical)
    }

    @Test(
        "malformed input is rejected",
        arguments: [
            "Zg=", "Zg===", "Z", "Zm9vY", "Zm9v=", "Zm 9v", "Zm9v\n", "Zm+v", "Zm/v", "Z=g=", "=Zg", "====",
            "Zm9v.", "Zé", "Zm9vYg==Zg",
        ]
    )
    func malformed(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("seeded random bytes round-trip at every length 0...200")
    func roundTrip() throws {
        var rng = SplitMix64(seed: 2026)
        for length in 0...200 {
            let bytes = rng.bytes(count: length)
            let text = Base64URL.encode(bytes)
            #expect(text.utf8.count == Base64URL.encodedLength(of: length))
            #expect(text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 < 0x7B) })
            let decoded = try #require(Base64URL.decode(text))
            #expect(decoded.bytes == bytes)
            #expect(decoded.isCanonical)
            #expect(text.utf8.withContiguousStorageIfAvailable { Base64URL.decode(bytes: UnsafeRawBufferPointer($0)) } == decoded)
            #expect(Base64URL.decode(Substring(text)) == decoded)
        }
    }

    @Test("encode accepts any byte collection, digests included")
    func encodesCollections() {
        let digest = SHA256.hash(data: "abc".utf8)
        #expect(Base64URL.encode(digest) == Base64URL.encode(Array(digest)))
        #expect(Base64URL.encode([UInt8](repeating: 0, count: 4)[1...]) == "AAAA")
    }
}
