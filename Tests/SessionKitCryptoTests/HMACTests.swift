import SessionKitCrypto
import Testing

/// RFC 4231 section 4: test cases 1-7 for HMAC-SHA-256, -384 and -512, inline.
struct RFC4231Case: Sendable, CustomTestStringConvertible {
    let number: Int
    let key: [UInt8]
    let data: [UInt8]
    /// Case 5 specifies only the first 128 bits of the output.
    let truncatedTo: Int?
    let sha256: String
    let sha384: String
    let sha512: String

    var testDescription: String { "RFC 4231 test case \(number)" }

    static let all: [RFC4231Case] = [
        RFC4231Case(
            number: 1,
            key: [UInt8](repeating: 0x0B, count: 20),
            data: Array("Hi There".utf8),
            truncatedTo: nil,
            sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            sha512: """
                87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854
                """
        ),
        RFC4231Case(
            number: 2,
            key: Array("Jefe".utf8),
            data: Array("what do ya want for nothing?".utf8),
            truncatedTo: nil,
            sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            sha384: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            sha512: """
                164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737
                """
        ),
        RFC4231Case(
            number: 3,
            key: [UInt8](repeating: 0xAA, count: 20),
            data: [UInt8](repeating: 0xDD, count: 50),
            truncatedTo: nil,
            sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            sha384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            sha512: """
                fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39\
                bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb
                """
        ),
        RFC4231Case(
            number: 4,
            key: Array(1...25),
            data: [UInt8](repeating: 0xCD, count: 50),
            truncatedTo: nil,
            sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            sha384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            sha512: """
                b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db\
                a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd
                """
        ),
        RFC4231Case(
            number: 5,
            key: [UInt8](repeating: 0x0C, count: 20),
            data: Array("Test With Truncation".utf8),
            truncatedTo: 16,
            sha256: "a3b6167473100ee06e0c796c2955552b",
            sha384: "3abf34c3503b2a23a46efc619baef897",
            sha512: "415fad6271580a531d4179bc891d87a6"
        ),
        RFC4231Case(
            number: 6,
            key: [UInt8](repeating: 0xAA, count: 131),
            data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            truncatedTo: nil,
            sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            sha384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            sha512: """
                80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598
                """
        ),
        RFC4231Case(
            number: 7,
            key: [UInt8](repeating: 0xAA, count: 131),
            data: Array(
                "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .utf8
            ),
            truncatedTo: nil,
            sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            sha384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            sha512: """
                e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
                b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58
                """
        ),
    ]
}

@Suite("HMAC (RFC 2104, RFC 4231)")
struct HMACTests {
    /// Checks one hash function against one case through every API path.
    func check<H: HashFunction>(_ hash: H.Type, _ vector: RFC4231Case, expected: String) {
        let key = SymmetricKey(data: vector.key)
        let prepared = HMACKey<H>(key)
        let mac = HMAC<H>.authenticationCode(for: vector.data, using: key)
        let length = vector.truncatedTo ?? H.Digest.byteCount
        #expect(hex(mac.prefix(length)) == expected)
        #expect(HMAC<H>.authenticationCode(for: vector.data, using: prepared) == mac)
        #expect(prepared.authenticationCode(for: vector.data) == mac)
        #expect(vector.data.withUnsafeBytes { prepared.authenticationCode(bufferPointer: $0) } == mac)
        var streaming = HMAC<H>(key: key)
        for byte in vector.data { streaming.update(data: [byte]) }
        #expect(streaming.finalize() == mac)
        #expect(HMAC<H>.isValidAuthenticationCode(mac, authenticating: vector.data, using: key))
        #expect(HMAC<H>.isValidAuthenticationCode(Array(mac), authenticating: vector.data, using: prepared))
        if vector.truncatedTo == nil {
            #expect(HMAC<H>.isValidAuthenticationCode(bytes(hex: expected), authenticating: vector.data, using: key))
        }
    }

    @Test("HMAC-SHA-256", arguments: RFC4231Case.all)
    func sha256(vector: RFC4231Case) {
        check(SHA256.self, vector, expected: vector.sha256)
    }

    @Test("HMAC-SHA-384", arguments: RFC4231Case.all)
    func sha384(vector: RFC4231Case) {
        check(SHA384.self, vector, expected: vector.sha384)
    }

    @Test("HMAC-SHA-512", arguments: RFC4231Case.all)
    func sha512(vector: RFC4231Case) {
        check(SHA512.self, vector, expected: vector.sha512)
    }

    @Test("a forged, truncated, extended or empty code is rejected")
    func rejectsForgeries() {
        let key = HMACKey<SHA512>(SymmetricKey(data: Array("secret".utf8)))
        let message = Array("user=42".utf8)
        let mac = Array(key.authenticationCode(for: message))
        #expect(key.isValidAuthenticationCode(mac, authenticating: message))
        for index in [0, 31, 63] {
            var forged = mac
            forged[index] ^= 0x01
            #expect(!key.isValidAuthenticationCode(forged, authenticating: message))
        }
        #expect(!key.isValidAuthenticationCode(mac.dropLast(), authenticating: message))
        #expect(!key.isValidAuthenticationCode(mac + [0], authenticating: message))
        #expect(!key.isValidAuthenticationCode([UInt8](), authenticating: message))
        #expect(!key.isValidAuthenticationCode(mac, authenticating: Array("user=43".utf8)))
        let otherKey = SymmetricKey(data: Array("secreT".utf8))
        #expect(!HMAC<SHA512>.isValidAuthenticationCode(mac, authenticating: message, using: otherKey))
    }

    @Test("streaming HMAC split at every offset equals one-shot")
    func streamingEveryOffset() {
        var rng = SplitMix64(seed: 99)
        let message = rng.bytes(count: 300)
        let key = HMACKey<SHA512>(SymmetricKey(data: rng.bytes(count: 64)))
        let expected = key.authenticationCode(for: message)
        for split in 0...message.count {
            var mac = HMAC<SHA512>(key: key)
            mac.update(data: message[..<split])
            message[split...].withUnsafeBytes { mac.update(bufferPointer: $0) }
            #expect(mac.finalize() == expected, "split at \(split)")
        }
    }

    @Test("a prepared key is reusable and independent of earlier messages")
    func preparedKeyReuse() {
        let secret = SymmetricKey(data: [UInt8](repeating: 0x42, count: 32))
        let key = HMACKey<SHA256>(secret)
        let first = key.authenticationCode(for: "one".utf8)
        _ = key.authenticationCode(for: [UInt8](repeating: 1, count: 1000))
        #expect(key.authenticationCode(for: "one".utf8) == first)
        #expect(HMAC<SHA256>.authenticationCode(for: "one".utf8, using: secret) == first)
        let aliased: HMAC<SHA256>.Key = HMAC<SHA256>.Key(secret)
        #expect(HMAC<SHA256>.authenticationCode(for: "one".utf8, using: aliased) == first)
        #expect(HMAC<SHA256>.isValidAuthenticationCode(first, authenticating: "one".utf8, using: aliased))
        #expect(HashedAuthenticationCode<SHA256>.byteCount == 32)
        #expect(first.description == hex(first))
    }

    @Test("keys of exactly one block, one block plus one, and empty")
    func keyLengthEdges() {
        // Each pair of keys below must give the same MAC: a key longer than a block is
        // replaced by its digest, and zero padding is implied for short keys.
        let long = [UInt8](repeating: 0x61, count: 129)
        let digestKey = Array(SHA512.hash(data: long))
        #expect(
            HMAC<SHA512>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: long))
                == HMAC<SHA512>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: digestKey))
        )
        #expect(
            HMAC<SHA256>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: [UInt8]()))
                == HMAC<SHA256>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: [UInt8](repeating: 0, count: 64)))
        )
        #expect(
            HMAC<SHA256>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: [UInt8](repeating: 7, count: 64)))
                != HMAC<SHA256>.authenticationCode(for: "m".utf8, using: SymmetricKey(data: [UInt8](repeating: 7, count: 65)))
        )
    }
}
