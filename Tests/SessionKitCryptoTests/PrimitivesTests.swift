@testable import SessionKitCrypto
import Testing

@Suite("Constant-time comparison, keys and secure random")
struct PrimitivesTests {
    @Test("ConstantTime.isEqual matches == on every length and difference position")
    func constantTimeEquality() {
        var rng = SplitMix64(seed: 5)
        for length in 0...40 {
            let a = rng.bytes(count: length)
            #expect(ConstantTime.isEqual(a, a))
            #expect(ConstantTime.isEqual(a, a[...]))
            #expect(ConstantTime.isEqual(a, NonContiguousBytes(bytes: a)))
            #expect(!ConstantTime.isEqual(a, a + [0]))
            for position in 0..<length {
                var b = a
                b[position] ^= 0x80
                #expect(!ConstantTime.isEqual(a, b))
                let raw = a.withUnsafeBytes { l in b.withUnsafeBytes { r in ConstantTime.isEqual(l, r) } }
                #expect(!raw)
            }
        }
    }

    @Test("SymmetricKey hides its bytes and compares by value")
    func symmetricKey() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 0xAB, count: 32))
        #expect(key.bitCount == 256)
        #expect(key.description == "SymmetricKey(256 bits)")
        #expect(!String(describing: key).lowercased().contains("ab, "))
        #expect(key == SymmetricKey(data: [UInt8](repeating: 0xAB, count: 32)))
        #expect(key != SymmetricKey(data: [UInt8](repeating: 0xAC, count: 32)))
        #expect(key.withUnsafeBytes { Array($0) } == [UInt8](repeating: 0xAB, count: 32))
        let random = try SymmetricKey(size: .bits512)
        #expect(random.bitCount == 512)
        #expect(try SymmetricKey(size: SymmetricKeySize(bitCount: 136)).bitCount == 136)
    }

    @Test("SecureRandom fills buffers of any size with non-repeating bytes")
    func secureRandom() throws {
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
        for count in [1, 31, 256, 257, 4096] {
            let a = try SecureRandom.bytes(count: count)
            let b = try SecureRandom.bytes(count: count)
            #expect(a.count == count)
            if count >= 16 { #expect(a != b) }
        }
        // A large buffer is filled throughout, not only its first chunk.
        let big = try SecureRandom.bytes(count: 10_000)
        #expect(big[9_000...].contains { $0 != 0 })
        // Every byte value turns up in 64 KiB of output.
        let sample = try SecureRandom.bytes(count: 65_536)
        #expect(Set(sample).count == 256)
        var raw = [UInt8](repeating: 0, count: 300)
        try raw.withUnsafeMutableBytes { buffer in try SecureRandom.fill(buffer) }
        #expect(raw[256...].contains { $0 != 0 })
    }

    @Test("SecureRandomError names errno and says what to check")
    func secureRandomError() {
        let error = SecureRandomError(errno: 38)
        #expect(error.errno == 38)
        #expect(error.description.contains("errno 38"))
        #expect(error.description.contains("seccomp"))
    }
}
