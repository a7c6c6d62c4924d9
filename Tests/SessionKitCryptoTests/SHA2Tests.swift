import SessionKitCrypto
import Testing

/// The FIPS 180-4 example messages (NIST CSRC "Examples with Intermediate Values").
enum NISTMessage: String, CaseIterable, CustomTestStringConvertible {
    case empty
    case abc
    case bits448
    case bits896
    case millionA

    var bytes: [UInt8] {
        switch self {
        case .empty: return []
        case .abc: return Array("abc".utf8)
        case .bits448: return Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        case .bits896:
            return Array(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8
            )
        case .millionA: return [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        }
    }

    var testDescription: String { rawValue }
}

@Suite("SHA-2 (FIPS 180-4)")
struct SHA2Tests {
    static let sha256Vectors: [(NISTMessage, String)] = [
        (.empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.bits448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (.bits896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        (.millionA, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ]

    static let sha384Vectors: [(NISTMessage, String)] = [
        (.empty, "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"),
        (.abc, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (.bits448, "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b"),
        (.bits896, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"),
        (.millionA, "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985"),
    ]

    static let sha512Vectors: [(NISTMessage, String)] = [
        (
            .empty,
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        ),
        (
            .abc,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        (
            .bits448,
            "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"
        ),
        (
            .bits896,
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
        ),
        (
            .millionA,
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
        ),
    ]

    @Test("SHA-256 NIST vectors", arguments: sha256Vectors)
    func sha256(message: NISTMessage, expected: String) {
        #expect(SHA256.hash(data: message.bytes).description == expected)
    }

    @Test("SHA-384 NIST vectors", arguments: sha384Vectors)
    func sha384(message: NISTMessage, expected: String) {
        #expect(SHA384.hash(data: message.bytes).description == expected)
    }

    @Test("SHA-512 NIST vectors", arguments: sha512Vectors)
    func sha512(message: NISTMessage, expected: String) {
        #expect(SHA512.hash(data: message.bytes).description == expected)
    }

    @Test("one million 'a' fed in uneven pieces")
    func millionInPieces() {
        var sha256 = SHA256()
        var sha512 = SHA512()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var fed = 0
        var size = 1
        while fed < 1_000_000 {
            let n = min(size, 1_000_000 - fed)
            sha256.update(data: piece[..<n])
            sha512.update(data: piece[..<n])
            fed += n
            size = (size + 13) % 997 + 1
        }
        #expect(sha256.finalize().description == Self.sha256Vectors[4].1)
        #expect(sha512.finalize().description == Self.sha512Vectors[4].1)
    }

    /// Messages around the block and padding boundaries plus two multi-block ones.
    static let streamingMessages: [Message] = {
        var rng = SplitMix64(seed: 42)
        return [NISTMessage.bits896.bytes, rng.bytes(count: 111), rng.bytes(count: 128), rng.bytes(count: 300)]
            .map(Message.init)
    }()

    struct Message: Sendable, CustomTestStringConvertible {
        let bytes: [UInt8]
        var testDescription: String { "\(bytes.count) bytes" }
    }

    @Test("streaming split at every offset equals one-shot", arguments: streamingMessages)
    func streamingEveryOffset(message: Message) {
        let message = message.bytes
        let whole256 = SHA256.hash(data: message)
        let whole384 = SHA384.hash(data: message)
        let whole512 = SHA512.hash(data: message)
        for split in 0...message.count {
            var h256 = SHA256()
            var h384 = SHA384()
            var h512 = SHA512()
            h256.update(data: message[..<split])
            h256.update(data: message[split...])
            h384.update(data: message[..<split])
            h384.update(data: message[split...])
            h512.update(data: message[..<split])
            h512.update(data: message[split...])
            #expect(h256.finalize() == whole256, "SHA-256 split at \(split) of \(message.count)")
            #expect(h384.finalize() == whole384, "SHA-384 split at \(split) of \(message.count)")
            #expect(h512.finalize() == whole512, "SHA-512 split at \(split) of \(message.count)")
        }
    }

    @Test("streaming one byte at a time equals one-shot", arguments: streamingMessages)
    func streamingByteAtATime(message: Message) {
        let message = message.bytes
        var h256 = SHA256()
        var h512 = SHA512()
        for byte in message {
            h256.update(data: CollectionOfOne(byte))
            h512.update(data: [byte])
        }
        #expect(h256.finalize() == SHA256.hash(data: message))
        #expect(h512.finalize() == SHA512.hash(data: message))
    }

    @Test("every length 0...300 of a seeded message: streaming in two halves equals one-shot")
    func everyLength() {
        var rng = SplitMix64(seed: 7)
        let message = rng.bytes(count: 300)
        for length in 0...300 {
            let prefix = message[..<length]
            var h = SHA512()
            h.update(data: prefix[..<(length / 2)])
            h.update(data: prefix[(length / 2)...])
            #expect(h.finalize() == SHA512.hash(data: prefix))
        }
    }

    @Test("finalize leaves the hasher usable and unchanged")
    func finalizeIsNonMutating() {
        var hasher = SHA512()
        hasher.update(data: "ab".utf8)
        let first = hasher.finalize()
        #expect(hasher.finalize() == first)
        hasher.update(data: "c".utf8)
        #expect(hasher.finalize().description == Self.sha512Vectors[1].1)
    }

    @Test("all input kinds give the same digest")
    func inputKinds() {
        let text = "The quick brown fox jumps over the lazy dog"
        let bytes = Array(text.utf8)
        let expected = SHA256.hash(data: bytes)
        #expect(SHA256.hash(data: text.utf8) == expected)
        #expect(SHA256.hash(data: Substring(text).utf8) == expected)
        #expect(SHA256.hash(data: bytes[...]) == expected)
        #expect(SHA256.hash(data: ContiguousArray(bytes)) == expected)
        #expect(SHA256.hash(data: NonContiguousBytes(bytes: bytes)) == expected)
        #expect(bytes.withUnsafeBytes { SHA256.hash(data: $0) } == expected)
        #expect(bytes.withUnsafeBytes { SHA256.hash(bufferPointer: $0) } == expected)
        let long = [UInt8](repeating: 0x5A, count: 1000)
        #expect(SHA512.hash(data: NonContiguousBytes(bytes: long)) == SHA512.hash(data: long))
        #expect(expected.description == "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592")
    }

    @Test("digests are byte collections with hex descriptions and value semantics")
    func digestCollection() {
        let digest = SHA384.hash(data: "abc".utf8)
        #expect(SHA384Digest.byteCount == 48)
        #expect(SHA384.byteCount == 48)
        #expect(SHA512.blockByteCount == 128)
        #expect(SHA256.blockByteCount == 64)
        #expect(digest.count == 48)
        #expect(Array(digest) == bytes(hex: Self.sha384Vectors[1].1))
        #expect(hex(digest) == digest.description)
        #expect(digest.first == 0xCB)
        #expect(digest[47] == 0xA7)
        #expect(digest == SHA384.hash(data: Array("abc".utf8)))
        #expect(digest != SHA384.hash(data: "abd".utf8))
        #expect(Set([digest, SHA384.hash(data: "abc".utf8)]).count == 1)
        #expect(digest.withUnsafeBytes { Array($0) } == Array(digest))
    }
}
