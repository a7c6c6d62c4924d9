// The ChaCha20 block function (RFC 8439 section 2.3) shared by ChaCha20, HChaCha20 and
// XChaCha20: a scalar version for single blocks and short tails, and a version that runs four
// blocks at once in SIMD4<UInt32> lanes (one block per lane), which baseline x86-64 (SSE2)
// and arm64 (NEON) execute as 128-bit vector instructions.
//
// Nothing here indexes memory by secret data: the function is additions, XORs and rotations
// by constants, so its timing does not depend on the key or the plaintext.

/// The 16-word ChaCha20 input state (RFC 8439 section 2.3) minus the block counter:
/// the key words and the three nonce words. The constant words are implied.
@usableFromInline
struct ChaCha20Input: Sendable {
    var k0, k1, k2, k3, k4, k5, k6, k7: UInt32
    var n0, n1, n2: UInt32

    /// Reads the 32-byte key and the 12-byte nonce as little-endian words.
    init(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer) {
        let k = key.baseAddress!
        let n = nonce.baseAddress!
        k0 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        k1 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        k2 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        k3 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        k4 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        k5 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        k6 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        k7 = UInt32(littleEndian: k.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        n0 = UInt32(littleEndian: n.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        n1 = UInt32(littleEndian: n.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        n2 = UInt32(littleEndian: n.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    }
}

/// "expand 32-byte k" as four little-endian words.
@usableFromInline let chachaConstant0: UInt32 = 0x6170_7865
@usableFromInline let chachaConstant1: UInt32 = 0x3320_646E
@usableFromInline let chachaConstant2: UInt32 = 0x7962_2D32
@usableFromInline let chachaConstant3: UInt32 = 0x6B20_6574

@inline(__always)
func chachaRotate(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &<< n) | (x &>> (32 &- n))
}

/// The quarter round of RFC 8439 section 2.1.
@inline(__always)
func chachaQuarterRound(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32) {
    a &+= b; d ^= a; d = chachaRotate(d, 16)
    c &+= d; b ^= c; b = chachaRotate(b, 12)
    a &+= b; d ^= a; d = chachaRotate(d, 8)
    c &+= d; b ^= c; b = chachaRotate(b, 7)
}

/// Rotates each lane left by `n` bits.
///
/// Written with `&+` rather than `|` (the two halves have no bits in common, so the sum is
/// the same): LLVM recognises the `|` form as a rotate and, finding no vector rotate
/// instruction in SSE2, splits the vector into four scalar `rol`s. The `&+` form stays as
/// `pslld`, `psrld` and `por`/`paddd`.
@inline(__always)
func chachaRotate(_ x: SIMD4<UInt32>, _ n: UInt32) -> SIMD4<UInt32> {
    (x &<< n) &+ (x &>> (32 &- n))
}

/// Rotates each lane left by 16 bits: swaps the 16-bit halves (`pshuflw` and `pshufhw`).
@inline(__always)
func chachaRotate16(_ x: SIMD4<UInt32>) -> SIMD4<UInt32> {
    let h = unsafeBitCast(x, to: SIMD8<UInt16>.self)
    return unsafeBitCast(SIMD8<UInt16>(h[1], h[0], h[3], h[2], h[5], h[4], h[7], h[6]), to: SIMD4<UInt32>.self)
}

/// The quarter round on four independent blocks, one per lane.
@inline(__always)
func chachaQuarterRound(
    _ a: inout SIMD4<UInt32>, _ b: inout SIMD4<UInt32>, _ c: inout SIMD4<UInt32>, _ d: inout SIMD4<UInt32>
) {
    a &+= b; d ^= a; d = chachaRotate16(d)
    c &+= d; b ^= c; b = chachaRotate(b, 12)
    a &+= b; d ^= a; d = chachaRotate(d, 8)
    c &+= d; b ^= c; b = chachaRotate(b, 7)
}

/// The 16 words of a ChaCha20 state, for the scalar functions.
@usableFromInline
typealias ChaCha20Words = (
    UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
    UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32
)

enum ChaCha20Core {
    /// Runs the 20 rounds (10 column rounds and 10 diagonal rounds) on `s` and returns the
    /// result, without the final addition of the input: HChaCha20 uses it as is.
    @inline(__always)
    static func rounds(_ s: ChaCha20Words) -> ChaCha20Words {
        var (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15) = s
        for _ in 0..<10 {
            chachaQuarterRound(&x0, &x4, &x8, &x12)
            chachaQuarterRound(&x1, &x5, &x9, &x13)
            chachaQuarterRound(&x2, &x6, &x10, &x14)
            chachaQuarterRound(&x3, &x7, &x11, &x15)
            chachaQuarterRound(&x0, &x5, &x10, &x15)
            chachaQuarterRound(&x1, &x6, &x11, &x12)
            chachaQuarterRound(&x2, &x7, &x8, &x13)
            chachaQuarterRound(&x3, &x4, &x9, &x14)
        }
        return (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
    }

    /// The input state for `counter` (RFC 8439 section 2.3).
    @inline(__always)
    static func state(_ input: ChaCha20Input, counter: UInt32) -> ChaCha20Words {
        (
            chachaConstant0, chachaConstant1, chachaConstant2, chachaConstant3,
            input.k0, input.k1, input.k2, input.k3, input.k4, input.k5, input.k6, input.k7,
            counter, input.n0, input.n1, input.n2
        )
    }

    /// Writes the 64-byte keystream block for `counter` to `output`.
    static func block(_ input: ChaCha20Input, counter: UInt32, into output: UnsafeMutableRawPointer) {
        var s = state(input, counter: counter)
        let x = rounds(s)
        s.0 &+= x.0; s.1 &+= x.1; s.2 &+= x.2; s.3 &+= x.3
        s.4 &+= x.4; s.5 &+= x.5; s.6 &+= x.6; s.7 &+= x.7
        s.8 &+= x.8; s.9 &+= x.9; s.10 &+= x.10; s.11 &+= x.11
        s.12 &+= x.12; s.13 &+= x.13; s.14 &+= x.14; s.15 &+= x.15
        withUnsafeBytes(of: &s) { words in
            for i in 0..<16 {
                let word = words.load(fromByteOffset: 4 * i, as: UInt32.self).littleEndian
                output.storeBytes(of: word, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
    }

    /// XORs `count` bytes at `source` with the keystream starting at block `counter` and
    /// writes them to `destination` (which may be `source`). The caller has checked that the
    /// counter does not pass 2^32 - 1.
    static func xor(
        _ source: UnsafeRawPointer, _ destination: UnsafeMutableRawPointer, count: Int,
        input: ChaCha20Input, counter: UInt32
    ) {
        var source = source
        var destination = destination
        var remaining = count
        var counter = counter
        #if _endian(little)
        while remaining >= 256 {
            fourBlocks(source, destination, input: input, counter: counter)
            source += 256
            destination += 256
            remaining -= 256
            counter &+= 4
        }
        if remaining > 64 {
            // Two or three blocks left: four blocks at once cost less than two one at a time.
            var scratch: (SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>) = (.zero, .zero, .zero, .zero)
            withUnsafeMutableBytes(of: &scratch) { scratch in
                let base = scratch.baseAddress!
                base.copyMemory(from: source, byteCount: remaining)
                fourBlocks(UnsafeRawPointer(base), base, input: input, counter: counter)
                destination.copyMemory(from: UnsafeRawPointer(base), byteCount: remaining)
            }
            return
        }
        #endif
        var keystream: SIMD16<UInt32> = .zero
        while remaining > 0 {
            withUnsafeMutableBytes(of: &keystream) { keystream in
                let k = keystream.baseAddress!
                block(input, counter: counter, into: k)
                let take = Swift.min(64, remaining)
                var i = 0
                while i + 8 <= take {
                    let word = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                        ^ k.load(fromByteOffset: i, as: UInt64.self)
                    destination.storeBytes(of: word, toByteOffset: i, as: UInt64.self)
                    i += 8
                }
                while i < take {
                    let byte = source.load(fromByteOffset: i, as: UInt8.self) ^ k.load(fromByteOffset: i, as: UInt8.self)
                    destination.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
                    i += 1
                }
                source += take
                destination += take
                remaining -= take
            }
            counter &+= 1
        }
    }

    #if _endian(little)
    /// XORs 256 bytes with four keystream blocks (counters `counter` to `counter + 3`),
    /// computed together: SIMD lane j holds block j's state.
    @inline(__always)
    static func fourBlocks(
        _ source: UnsafeRawPointer, _ destination: UnsafeMutableRawPointer,
        input: ChaCha20Input, counter: UInt32
    ) {
        let s0 = SIMD4<UInt32>(repeating: chachaConstant0), s1 = SIMD4<UInt32>(repeating: chachaConstant1)
        let s2 = SIMD4<UInt32>(repeating: chachaConstant2), s3 = SIMD4<UInt32>(repeating: chachaConstant3)
        let s4 = SIMD4<UInt32>(repeating: input.k0), s5 = SIMD4<UInt32>(repeating: input.k1)
        let s6 = SIMD4<UInt32>(repeating: input.k2), s7 = SIMD4<UInt32>(repeating: input.k3)
        let s8 = SIMD4<UInt32>(repeating: input.k4), s9 = SIMD4<UInt32>(repeating: input.k5)
        let s10 = SIMD4<UInt32>(repeating: input.k6), s11 = SIMD4<UInt32>(repeating: input.k7)
        let s12 = SIMD4<UInt32>(repeating: counter) &+ SIMD4<UInt32>(0, 1, 2, 3)
        let s13 = SIMD4<UInt32>(repeating: input.n0), s14 = SIMD4<UInt32>(repeating: input.n1)
        let s15 = SIMD4<UInt32>(repeating: input.n2)
        var x0 = s0, x1 = s1, x2 = s2, x3 = s3, x4 = s4, x5 = s5, x6 = s6, x7 = s7
        var x8 = s8, x9 = s9, x10 = s10, x11 = s11, x12 = s12, x13 = s13, x14 = s14, x15 = s15
        for _ in 0..<10 {
            chachaQuarterRound(&x0, &x4, &x8, &x12)
            chachaQuarterRound(&x1, &x5, &x9, &x13)
            chachaQuarterRound(&x2, &x6, &x10, &x14)
            chachaQuarterRound(&x3, &x7, &x11, &x15)
            chachaQuarterRound(&x0, &x5, &x10, &x15)
            chachaQuarterRound(&x1, &x6, &x11, &x12)
            chachaQuarterRound(&x2, &x7, &x8, &x13)
            chachaQuarterRound(&x3, &x4, &x9, &x14)
        }
        x0 &+= s0; x1 &+= s1; x2 &+= s2; x3 &+= s3
        x4 &+= s4; x5 &+= s5; x6 &+= s6; x7 &+= s7
        x8 &+= s8; x9 &+= s9; x10 &+= s10; x11 &+= s11
        x12 &+= s12; x13 &+= s13; x14 &+= s14; x15 &+= s15
        // Transpose: block j's bytes 16r..<16r+16 are words 4r...4r+3 of lane j.
        xorTransposed(x0, x1, x2, x3, source, destination, offset: 0)
        xorTransposed(x4, x5, x6, x7, source, destination, offset: 16)
        xorTransposed(x8, x9, x10, x11, source, destination, offset: 32)
        xorTransposed(x12, x13, x14, x15, source, destination, offset: 48)
    }

    /// Transposes four rows of four lanes and XORs lane j's 16 bytes into block j at `offset`.
    @inline(__always)
    static func xorTransposed(
        _ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>, _ c: SIMD4<UInt32>, _ d: SIMD4<UInt32>,
        _ source: UnsafeRawPointer, _ destination: UnsafeMutableRawPointer, offset: Int
    ) {
        let ab01 = SIMD4(a[0], b[0], a[1], b[1]), ab23 = SIMD4(a[2], b[2], a[3], b[3])
        let cd01 = SIMD4(c[0], d[0], c[1], d[1]), cd23 = SIMD4(c[2], d[2], c[3], d[3])
        let block0 = SIMD4(lowHalf: ab01.lowHalf, highHalf: cd01.lowHalf)
        let block1 = SIMD4(lowHalf: ab01.highHalf, highHalf: cd01.highHalf)
        let block2 = SIMD4(lowHalf: ab23.lowHalf, highHalf: cd23.lowHalf)
        let block3 = SIMD4(lowHalf: ab23.highHalf, highHalf: cd23.highHalf)
        let m0 = source.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self)
        let m1 = source.loadUnaligned(fromByteOffset: offset + 64, as: SIMD4<UInt32>.self)
        let m2 = source.loadUnaligned(fromByteOffset: offset + 128, as: SIMD4<UInt32>.self)
        let m3 = source.loadUnaligned(fromByteOffset: offset + 192, as: SIMD4<UInt32>.self)
        destination.storeBytes(of: m0 ^ block0, toByteOffset: offset, as: SIMD4<UInt32>.self)
        destination.storeBytes(of: m1 ^ block1, toByteOffset: offset + 64, as: SIMD4<UInt32>.self)
        destination.storeBytes(of: m2 ^ block2, toByteOffset: offset + 128, as: SIMD4<UInt32>.self)
        destination.storeBytes(of: m3 ^ block3, toByteOffset: offset + 192, as: SIMD4<UInt32>.self)
    }
    #endif
}
