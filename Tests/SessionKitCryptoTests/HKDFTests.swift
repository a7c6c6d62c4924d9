import SessionKitCrypto
import Testing

/// RFC 5869 appendix A, test cases 1-3 (HKDF-SHA-256), inline; HKDF-SHA-512 checked against
/// a computation with Python's `hmac` module (the same extract-and-expand steps).
struct RFC5869Case: Sendable, CustomTestStringConvertible {
    let number: Int
    let ikm: [UInt8]
    let salt: [UInt8]
    let info: [UInt8]
    let length: Int
    let prk: String
    let okm: String

    var testDescription: String { "RFC 5869 test case \(number)" }

    static let all: [RFC5869Case] = [
        RFC5869Case(
            number: 1, ikm: [UInt8](repeating: 0x0B, count: 22), salt: Array(0x00...0x0C), info: Array(0xF0...0xF9), length: 42,
            prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
            okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        RFC5869Case(
            number: 2, ikm: Array(0x00...0x4F), salt: Array(0x60...0xAF), info: Array(0xB0...0xFF), length: 82,
            prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
            okm: """
                b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                cc30c58179ec3e87c14c01d5c1f3434f1d87
                """),
        RFC5869Case(
            number: 3, ikm: [UInt8](repeating: 0x0B, count: 22), salt: [], info: [], length: 42,
            prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
            okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ]
}

@Suite("HKDF")
struct HKDFTests {
    @Test(arguments: RFC5869Case.all)
    func rfc5869SHA256(_ c: RFC5869Case) {
        #expect(hex(HKDF<SHA256>.extract(inputKeyMaterial: c.ikm, salt: c.salt)) == c.prk)
        #expect(hex(HKDF<SHA256>.expand(pseudoRandomKey: bytes(hex: c.prk), info: c.info, outputByteCount: c.length)) == c.okm)
        #expect(hex(HKDF<SHA256>.deriveKey(inputKeyMaterial: c.ikm, salt: c.salt, info: c.info, outputByteCount: c.length)) == c.okm)
    }

    /// Test case 1's inputs with SHA-512, and the encrypted-cookie key derivation's salt and
    /// info, as Python's `hmac` computes them.
    @Test func sha512() {
        let prk = HKDF<SHA512>.extract(inputKeyMaterial: [UInt8](repeating: 0x0B, count: 22), salt: Array(0x00...0x0C))
        #expect(hex(prk) == "665799823737ded04a88e47e54a5890bb2c3d247c7a4254a8e61350723590a26c36238127d8661b88cf80ef802d57e2f7cebcf1e00e083848be19929c61b4237")
        #expect(
            hex(HKDF<SHA512>.deriveKey(inputKeyMaterial: [UInt8](repeating: 0x0B, count: 22), salt: Array(0x00...0x0C), info: Array(0xF0...0xF9), outputByteCount: 42))
                == "832390086cda71fb47625bb5ceb168e4c8e26a1a16ed34d9fc7fe92c1481579338da362cb8d9f925d7cb")
        #expect(
            hex(HKDF<SHA512>.deriveKey(
                inputKeyMaterial: "correct horse battery staple, but much longer than that".utf8,
                salt: "SessionKit encrypted cookie".utf8, info: "PASETO v4.local key".utf8, outputByteCount: 32))
                == "f8750d01992c667af7b65aeda2d219d8ed83463e17cf9fd66855c28b153d5304")
    }

    /// Output lengths that end inside a block, on a block boundary and at the maximum: each is
    /// a prefix of the longest output.
    @Test func outputLengths() {
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: Array("key material".utf8), salt: Array("salt".utf8))
        let longest = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("info".utf8), outputByteCount: HKDF<SHA256>.maximumOutputByteCount)
        #expect(longest.count == 255 * 32)
        for length in [0, 1, 31, 32, 33, 64, 65, 1000] {
            #expect(HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("info".utf8), outputByteCount: length) == Array(longest.prefix(length)))
        }
    }
}
