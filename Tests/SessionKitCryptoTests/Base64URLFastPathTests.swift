import SessionKitCrypto
import Testing

/// The word-at-a-time base64url encoder and table decoder against a plain
/// one-character-at-a-time reference, at every length and with damaged input.
@Suite("Base64URL fast paths")
struct Base64URLFastPathTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// RFC 4648 section 5 without padding, six bits at a time.
    static func referenceEncode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var bits = 0
        var buffer = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(alphabet[(buffer >> bits) & 63])
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (6 - bits)) & 63]) }
        return out
    }

    /// Decodes unpadded or padded text; nil for any character outside the alphabet or an
    /// impossible length. Canonical when unpadded and the leftover bits are zero.
    static func referenceDecode(_ text: [UInt8]) -> (bytes: [UInt8], isCanonical: Bool)? {
        var body = text[...]
        var padding = 0
        while body.last == UInt8(ascii: "=") {
            body = body.dropLast()
            padding += 1
        }
        guard padding <= 2, body.count % 4 != 1, padding == 0 || (body.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var bits = 0
        var buffer = 0
        for char in body {
            guard let value = alphabet.firstIndex(of: char) else { return nil }
            buffer = (buffer << 6 | value) & 0xFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        let leftover = buffer & ((1 << bits) - 1)
        return (out, padding == 0 && leftover == 0)
    }

    @Test("encoding matches the reference at every length 0...400, contiguous or not")
    func encodeMatchesReference() {
        var rng = SplitMix64(seed: 0xB64)
        for length in 0...400 {
            let bytes = rng.bytes(count: length)
            let expected = Self.referenceEncode(bytes)
            #expect(Array(Base64URL.encode(bytes).utf8) == expected)
            #expect(Base64URL.encodeToBytes(bytes) == expected)
            #expect(Base64URL.encodeToBytes(bytes[...]) == expected)
            #expect(Base64URL.encodeToBytes(bytes.lazy.map { $0 }) == expected)
            #expect(Base64URL.encode(bytes.lazy.map { $0 }) == String(decoding: expected, as: UTF8.self))
            var out = [UInt8](repeating: 0xEE, count: expected.count + 3)
            let written = bytes.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { Base64URL.encode(bytes: input, into: $0) }
            }
            #expect(written == expected.count)
            #expect(Array(out[..<written]) == expected)
            #expect(out[written...].allSatisfy { $0 == 0xEE }, "nothing written past the encoding")
        }
    }

    @Test("decoding matches the reference on valid, padded, non-canonical and damaged text")
    func decodeMatchesReference() {
        var rng = SplitMix64(seed: 0xDEC0DE)
        let specials: [UInt8] = Array("=+/ .\n\u{0}é".utf8) + [0x80, 0xFF, 0x7F]
        for length in 0...300 {
            let valid = Self.referenceEncode(rng.bytes(count: length))
            var cases: [[UInt8]] = [valid]
            if valid.count % 4 != 0 { cases.append(valid + Array(repeating: UInt8(ascii: "="), count: 4 - valid.count % 4)) }
            if !valid.isEmpty {
                var changed = valid
                changed[changed.count - 1] = Self.alphabet[Int(rng.next() % 64)]  // may set trailing bits
                cases.append(changed)
                var damaged = valid
                damaged[Int(rng.next() % UInt64(valid.count))] = specials[Int(rng.next() % UInt64(specials.count))]
                cases.append(damaged)
                cases.append(Array(valid.dropLast()))
            }
            for text in cases {
                let expected = Self.referenceDecode(text)
                let decoded = text.withUnsafeBytes { Base64URL.decode(bytes: $0) }
                #expect(decoded?.bytes == expected?.bytes && decoded?.isCanonical == expected?.isCanonical, "\(text)")
                let count = text.withUnsafeBytes { Base64URL.decodedCount(of: $0) }
                if let expected {
                    #expect(count == expected.bytes.count)
                    var out = [UInt8](repeating: 0xEE, count: expected.bytes.count + 4)
                    let result = text.withUnsafeBytes { input in out.withUnsafeMutableBytes { Base64URL.decode(bytes: input, into: $0) } }
                    #expect(result?.count == expected.bytes.count && result?.isCanonical == expected.isCanonical)
                    #expect(Array(out[..<expected.bytes.count]) == expected.bytes)
                    #expect(out[expected.bytes.count...].allSatisfy { $0 == 0xEE }, "nothing written past the decoded bytes")
                } else if let count {
                    var out = [UInt8](repeating: 0, count: count)
                    #expect(text.withUnsafeBytes { input in out.withUnsafeMutableBytes { Base64URL.decode(bytes: input, into: $0) } } == nil)
                }
            }
        }
    }
}
