import SessionKitCrypto
import Testing

@Suite("ChaCha20 (RFC 8439), HChaCha20 and XChaCha20 (draft-irtf-cfrg-xchacha-03)")
struct ChaCha20Tests {
    static let sequentialKey = (0..<32).map { UInt8($0) }

    @Test("RFC 8439 section 2.3.2: block function")
    func rfc8439BlockFunction() {
        let nonce = bytes(hex: "000000090000004a00000000")
        let block = ChaCha20.block(key: Self.sequentialKey, nonce: nonce, counter: 1)
        #expect(hex(block) == hex(bytes(hex: rfc8439Section232Block)))
        // The keystream of xor is the same block.
        #expect(ChaCha20.xor([UInt8](repeating: 0, count: 64), key: Self.sequentialKey, nonce: nonce, counter: 1) == block)
    }

    @Test("RFC 8439 section 2.4.2: the sunscreen example")
    func rfc8439Sunscreen() {
        let nonce = bytes(hex: "000000000000004a00000000")
        let plaintext = bytes(hex: rfc8439SunscreenPlaintext)
        #expect(String(decoding: plaintext.prefix(35), as: UTF8.self) == "Ladies and Gentlemen of the class o")
        let ciphertext = ChaCha20.xor(plaintext, key: Self.sequentialKey, nonce: nonce, counter: 1)
        #expect(hex(ciphertext) == hex(bytes(hex: rfc8439SunscreenCiphertext)))
        #expect(ChaCha20.xor(ciphertext, key: Self.sequentialKey, nonce: nonce, counter: 1) == plaintext)
    }

    @Test("RFC 8439 Appendix A.1: block function", arguments: ChaChaVector.rfc8439A1)
    func rfc8439A1(vector: ChaChaVector) {
        let block = ChaCha20.block(key: bytes(hex: vector.key), nonce: bytes(hex: vector.nonce), counter: vector.counter)
        #expect(hex(block) == hex(bytes(hex: vector.keystream)))
    }

    @Test("RFC 8439 Appendix A.2: encryption", arguments: ChaChaVector.rfc8439A2)
    func rfc8439A2(vector: ChaChaVector) {
        let key = bytes(hex: vector.key)
        let nonce = bytes(hex: vector.nonce)
        let plaintext = bytes(hex: vector.plaintext)
        let ciphertext = ChaCha20.xor(plaintext, key: key, nonce: nonce, counter: vector.counter)
        #expect(hex(ciphertext) == hex(bytes(hex: vector.ciphertext)))
        #expect(ChaCha20.xor(ciphertext, key: key, nonce: nonce, counter: vector.counter) == plaintext)
    }

    /// draft-irtf-cfrg-xchacha-03 section 2.2.1, as printed there.
    @Test("draft-irtf-cfrg-xchacha-03 section 2.2.1: HChaCha20")
    func hchacha20() {
        let nonce = bytes(hex: "00 00 00 09 00 00 00 4a 00 00 00 00 31 41 59 27")
        let expected = bytes(hex: "82413b42 27b27bfe d30e4250 8a877d73 a0f9e4d5 8a74a853 c12ec413 26d3ecdc")
        #expect(HChaCha20.subkey(key: Self.sequentialKey, nonce: nonce) == expected)
    }

    @Test("draft-irtf-cfrg-xchacha-03 A.3.2: XChaCha20, block counters 0 and 1", arguments: [UInt32(0), 1])
    func xchacha20(counter: UInt32) {
        let key = bytes(hex: xchachaA32Key)
        let nonce = bytes(hex: xchachaA32IV)
        let plaintext = bytes(hex: xchachaA32Plaintext)
        #expect(String(decoding: plaintext.prefix(30), as: UTF8.self) == "The dhole (pronounced \"dole\") ")
        let expectedKeystream = bytes(hex: counter == 0 ? xchachaA321Keystream : xchachaA322Keystream)
        let expectedCiphertext = bytes(hex: counter == 0 ? xchachaA321Ciphertext : xchachaA322Ciphertext)
        let keystream = XChaCha20.xor([UInt8](repeating: 0, count: plaintext.count), key: key, nonce: nonce, counter: counter)
        #expect(hex(keystream) == hex(expectedKeystream))
        let ciphertext = XChaCha20.xor(plaintext, key: key, nonce: nonce, counter: counter)
        #expect(hex(ciphertext) == hex(expectedCiphertext))
        #expect(XChaCha20.xor(ciphertext, key: key, nonce: nonce, counter: counter) == plaintext)
        // XChaCha20 is ChaCha20 under the HChaCha20 subkey with nonce 00000000 || nonce[16..<24].
        let subkey = HChaCha20.subkey(key: key, nonce: Array(nonce[..<16]))
        #expect(ChaCha20.xor(plaintext, key: subkey, nonce: [0, 0, 0, 0] + nonce[16...], counter: counter) == ciphertext)
    }

    /// Seeded cases (lengths 0...1000, random counters) against SHA-256 digests of the
    /// ciphertexts that scripts/crypto-vectors-blake2b-chacha.py computed with the Python
    /// `cryptography` package (OpenSSL's ChaCha20).
    @Test("ChaCha20 and XChaCha20 against Python cryptography", arguments: [12, 24])
    func differential(nonceLength: Int) throws {
        let lines = (nonceLength == 12 ? chacha20DifferentialVectors : xchacha20DifferentialVectors).split(separator: "\n")
        try #require(lines.count == 300)
        var lengths = Set<Int>()
        for (index, line) in lines.enumerated() {
            var rng = SplitMix64(seed: UInt64((nonceLength == 12 ? 2000 : 3000) + index))
            let length = Int(rng.next() % 1001)
            let counter = UInt32(rng.next() % (1 << 32 - 16))
            let key = rng.bytes(count: 32)
            let nonce = rng.bytes(count: nonceLength)
            let message = rng.bytes(count: length)
            lengths.insert(length)
            let ciphertext = nonceLength == 12
                ? ChaCha20.xor(message, key: key, nonce: nonce, counter: counter)
                : XChaCha20.xor(message, key: key, nonce: nonce, counter: counter)
            #expect(ciphertext.count == length)
            #expect(SHA256.hash(data: ciphertext).description == String(line), "case \(index), length \(length)")
        }
        #expect(lengths.count > 200)
    }

    @Test("xor agrees with concatenated blocks at every length 0...600")
    func xorMatchesBlocks() {
        var rng = SplitMix64(seed: 5)
        let key = rng.bytes(count: 32)
        let nonce = rng.bytes(count: 12)
        let counter: UInt32 = 0xFFFF_FFF0
        var keystream: [UInt8] = []
        for i in 0..<10 { keystream += ChaCha20.block(key: key, nonce: nonce, counter: counter + UInt32(i)) }
        let message = rng.bytes(count: 600)
        for length in 0...600 {
            let expected = zip(message[..<length], keystream).map { $0 ^ $1 }
            #expect(ChaCha20.xor(message[..<length], key: key, nonce: nonce, counter: counter) == expected, "length \(length)")
        }
    }

    @Test("round trips for seeded sizes and input kinds")
    func roundTrips() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<100 {
            let length = Int(rng.next() % 3000)
            let key = rng.bytes(count: 32)
            let nonce = rng.bytes(count: 24)
            let message = rng.bytes(count: length)
            let counter = UInt32(truncatingIfNeeded: rng.next() % 1000)
            let ciphertext = XChaCha20.xor(message, key: key, nonce: nonce, counter: counter)
            #expect(XChaCha20.xor(ciphertext, key: key, nonce: nonce, counter: counter) == message)
            #expect(XChaCha20.xor(NonContiguousBytes(bytes: message), key: key, nonce: nonce, counter: counter) == ciphertext)
            let chacha = ChaCha20.xor(message, key: key, nonce: Array(nonce[..<12]), counter: counter)
            #expect(ChaCha20.xor(chacha[...], key: key, nonce: Array(nonce[..<12]), counter: counter) == message)
            if length > 0 {
                #expect(ciphertext != message)
            }
        }
        #expect(ChaCha20.xor([UInt8](), key: Self.sequentialKey, nonce: [UInt8](repeating: 0, count: 12)) == [])
    }

    /// The 32-bit block counter must not wrap (RFC 8439 section 2.3 limits a nonce to 2^32
    /// blocks): the last block, counter 2^32 - 1, is usable; one byte more stops the program.
    @Test("the last counter value is usable; wrapping past it stops the program")
    func counterLimit() async {
        let key = Self.sequentialKey
        let nonce = [UInt8](repeating: 1, count: 12)
        let last = ChaCha20.xor([UInt8](repeating: 0, count: 64), key: key, nonce: nonce, counter: .max)
        #expect(last == ChaCha20.block(key: key, nonce: nonce, counter: .max))
        let tail = ChaCha20.xor([UInt8](repeating: 0, count: 130), key: key, nonce: nonce, counter: .max - 2)
        #expect(Array(tail[128...]) == Array(last.prefix(2)))
        await #expect(processExitsWith: .failure) {
            _ = ChaCha20.xor([UInt8](repeating: 0, count: 65), key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 12), counter: .max)
        }
        await #expect(processExitsWith: .failure) {
            _ = XChaCha20.xor([UInt8](repeating: 0, count: 129), key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 24), counter: .max - 1)
        }
    }

    @Test("wrong key and nonce sizes stop the program")
    func sizePreconditions() async {
        await #expect(processExitsWith: .failure) { _ = ChaCha20.block(key: [UInt8](repeating: 0, count: 31), nonce: [UInt8](repeating: 0, count: 12), counter: 0) }
        await #expect(processExitsWith: .failure) { _ = ChaCha20.xor([1], key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 8)) }
        await #expect(processExitsWith: .failure) { _ = XChaCha20.xor([1], key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 12)) }
        await #expect(processExitsWith: .failure) { _ = HChaCha20.subkey(key: [UInt8](repeating: 0, count: 32), nonce: [UInt8](repeating: 0, count: 24)) }
    }
}
