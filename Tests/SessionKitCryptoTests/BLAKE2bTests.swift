import SessionKitCrypto
import Testing

@Suite("BLAKE2b (RFC 7693)")
struct BLAKE2bTests {
    /// RFC 7693 Appendix A: BLAKE2b-512 of the three bytes "abc", as printed there.
    static let rfc7693Abc = """
        BA 80 A5 3F 98 1C 4D 0D 6A 27 97 B6 9F 12 F6 E9
        4C 21 2F 14 68 5A C4 B7 4B 12 BB 6F DB FF A2 D1
        7D 87 C5 39 2A AB 79 2D C2 52 D5 DE 45 33 CC 95
        18 D3 8A A8 DB F1 92 5A B9 23 86 ED D4 00 99 23
        """

    @Test("RFC 7693 Appendix A: BLAKE2b-512(\"abc\")")
    func rfc7693AppendixA() {
        let expected = bytes(hex: Self.rfc7693Abc)
        #expect(BLAKE2b.hash(data: "abc".utf8) == expected)
        #expect(BLAKE2b.hash(data: Array("abc".utf8), outputByteCount: 64) == expected)
        #expect(BLAKE2b.hash(data: "abc".utf8, key: [UInt8]()) == expected)
        var hasher = BLAKE2b()
        hasher.update(data: "a".utf8)
        hasher.update(data: "bc".utf8)
        #expect(hasher.finalize() == expected)
    }

    /// The reference keyed known-answer tests: BLAKE2/BLAKE2 testvectors/blake2b-kat.txt
    /// (https://github.com/BLAKE2/BLAKE2, commit ed1974e), key 00 01 ... 3f, input
    /// 00 01 ... (n-1), 64-byte output. Entries for n = 0, 1, 2, 63, 64, 65, 127, 128, 129, 255,
    /// copied verbatim. (All 256 entries of that file also agree with Python's hashlib.)
    static let keyedKAT: [(Int, String)] = [
        (0, "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"),
        (1, "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd"),
        (2, "da2cfbe2d8409a0f38026113884f84b50156371ae304c4430173d08a99d9fb1b983164a3770706d537f49e0c916d9f32b95cc37a95b99d857436f0232c88a965"),
        (63, "bd965bf31e87d70327536f2a341cebc4768eca275fa05ef98f7f1b71a0351298de006fba73fe6733ed01d75801b4a928e54231b38e38c562b2e33ea1284992fa"),
        (64, "65676d800617972fbd87e4b9514e1c67402b7a331096d3bfac22f1abb95374abc942f16e9ab0ead33b87c91968a6e509e119ff07787b3ef483e1dcdccf6e3022"),
        (65, "939fa189699c5d2c81ddd1ffc1fa207c970b6a3685bb29ce1d3e99d42f2f7442da53e95a72907314f4588399a3ff5b0a92beb3f6be2694f9f86ecf2952d5b41c"),
        (127, "76d2d819c92bce55fa8e092ab1bf9b9eab237a25267986cacf2b8ee14d214d730dc9a5aa2d7b596e86a1fd8fa0804c77402d2fcd45083688b218b1cdfa0dcbcb"),
        (128, "72065ee4dd91c2d8509fa1fc28a37c7fc9fa7d5b3f8ad3d0d7a25626b57b1b44788d4caf806290425f9890a3a2a35a905ab4b37acfd0da6e4517b2525c9651e4"),
        (129, "64475dfe7600d7171bea0b394e27c9b00d8e74dd1e416a79473682ad3dfdbb706631558055cfc8a40e07bd015a4540dcdea15883cbbf31412df1de1cd4152b91"),
        (255, "142709d62e28fcccd0af97fad0f8465b971e82201dc51070faa0372aa43e92484be1c1e73ba10906d5d1853db6a4106e0a7bf9800d373d6dee2d46d62ef2a461"),
    ]

    @Test("blake2b-kat.txt keyed vectors", arguments: keyedKAT)
    func keyedKnownAnswers(length: Int, expectedHex: String) {
        let key = (0..<64).map { UInt8($0) }
        let input = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        let expected = bytes(hex: expectedHex)
        #expect(BLAKE2b.hash(data: input, key: key) == expected)
        #expect(BLAKE2b.hash(data: input, key: key, outputByteCount: 64) == expected)
        // The same through the streaming API, one byte at a time.
        var hasher = BLAKE2b(key: key)
        for byte in input { hasher.update(data: CollectionOfOne(byte)) }
        #expect(hasher.finalize() == expected)
    }

    /// Every output length 1...64, keyed and unkeyed, on seeded inputs, against results that
    /// scripts/crypto-vectors-blake2b-chacha.py computed with Python's hashlib.blake2b.
    @Test("all output lengths against Python hashlib.blake2b")
    func differentialAllLengths() throws {
        let lines = blake2bDifferentialVectors.split(separator: "\n")
        try #require(lines.count == 128)
        for keyed in 0...1 {
            for n in 1...64 {
                var rng = SplitMix64(seed: UInt64(1000 * keyed + n))
                let messageLength = Int(rng.next() % 513)
                let keyLength = keyed == 1 ? Int(rng.next() % 64 + 1) : 0
                let message = rng.bytes(count: messageLength)
                let key = rng.bytes(count: keyLength)
                let expected = String(lines[keyed * 64 + n - 1])
                let result = keyed == 1
                    ? BLAKE2b.hash(data: message, key: key, outputByteCount: n)
                    : BLAKE2b.hash(data: message, outputByteCount: n)
                #expect(result.count == n)
                #expect(hex(result) == expected, "keyed \(keyed), output length \(n), message length \(messageLength)")
            }
        }
    }

    @Test("a 300-byte input split at every offset gives the one-shot result", arguments: [0, 1, 32, 64])
    func splitAtEveryOffset(keyLength: Int) {
        var rng = SplitMix64(seed: 77)
        let message = rng.bytes(count: 300)
        let key = rng.bytes(count: keyLength)
        let expected = BLAKE2b.hash(data: message, key: key, outputByteCount: 48)
        for split in 0...message.count {
            var hasher = BLAKE2b(key: key, outputByteCount: 48)
            hasher.update(data: message[..<split])
            hasher.update(data: message[split...])
            #expect(hasher.finalize() == expected, "split at \(split)")
        }
        // Three pieces, at every pair of offsets a multiple of 7 apart (blocks boundaries included).
        for first in stride(from: 0, through: 300, by: 7) {
            for second in stride(from: first, through: 300, by: 11) {
                var hasher = BLAKE2b(key: key, outputByteCount: 48)
                hasher.update(data: message[..<first])
                hasher.update(data: message[first..<second])
                hasher.update(data: message[second...])
                #expect(hasher.finalize() == expected, "splits at \(first) and \(second)")
            }
        }
    }

    @Test("every prefix 0...300 hashed in two halves equals one-shot; byte-at-a-time too")
    func prefixes() {
        var rng = SplitMix64(seed: 78)
        let message = rng.bytes(count: 300)
        for length in 0...message.count {
            let prefix = message[..<length]
            let expected = BLAKE2b.hash(data: prefix)
            var hasher = BLAKE2b()
            hasher.update(data: prefix[..<(length / 2)])
            hasher.update(data: prefix[(length / 2)...])
            #expect(hasher.finalize() == expected, "length \(length)")
        }
        var hasher = BLAKE2b(key: [1, 2, 3])
        for byte in message { hasher.update(data: [byte]) }
        #expect(hasher.finalize() == BLAKE2b.hash(data: message, key: [1, 2, 3]))
    }

    @Test("finalize leaves the hasher unchanged; copies are independent")
    func valueSemantics() {
        var hasher = BLAKE2b(outputByteCount: 32)
        hasher.update(data: "hello ".utf8)
        let copy = hasher
        let first = hasher.finalize()
        #expect(hasher.finalize() == first)
        hasher.update(data: "world".utf8)
        #expect(hasher.finalize() == BLAKE2b.hash(data: "hello world".utf8, outputByteCount: 32))
        #expect(copy.finalize() == first)
        #expect(first == BLAKE2b.hash(data: "hello ".utf8, outputByteCount: 32))
    }

    @Test("input kinds give the same digest")
    func inputKinds() {
        var rng = SplitMix64(seed: 79)
        let message = rng.bytes(count: 200)
        let key = rng.bytes(count: 40)
        let expected = BLAKE2b.hash(data: message, key: key)
        #expect(BLAKE2b.hash(data: NonContiguousBytes(bytes: message), key: NonContiguousBytes(bytes: key)) == expected)
        #expect(BLAKE2b.hash(data: ContiguousArray(message), key: key[...]) == expected)
        #expect(message.withUnsafeBytes { BLAKE2b.hash(data: $0, key: key) } == expected)
        var hasher = BLAKE2b(key: key)
        message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        #expect(hasher.finalize() == expected)
        var empty = BLAKE2b(key: key)
        empty.update(bufferPointer: UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(empty.finalize() == BLAKE2b.hash(data: [UInt8](), key: key))
    }

    @Test("output length is a parameter, not a truncation; keys change the result")
    func parameters() {
        let message = Array("message".utf8)
        let long = BLAKE2b.hash(data: message)
        let short = BLAKE2b.hash(data: message, outputByteCount: 32)
        #expect(short.count == 32)
        #expect(Array(long.prefix(32)) != short)
        #expect(BLAKE2b.hash(data: message, key: [0]) != long)
        #expect(BLAKE2b.hash(data: message, key: [UInt8](repeating: 7, count: 64)).count == 64)
        #expect(BLAKE2b.maximumOutputByteCount == 64)
        #expect(BLAKE2b.maximumKeyByteCount == 64)
    }

    @Test("out-of-range output lengths and keys stop the program")
    func preconditions() async {
        await #expect(processExitsWith: .failure) { _ = BLAKE2b(outputByteCount: 0) }
        await #expect(processExitsWith: .failure) { _ = BLAKE2b(outputByteCount: 65) }
        await #expect(processExitsWith: .failure) { _ = BLAKE2b(key: [UInt8](repeating: 0, count: 65)) }
    }
}
