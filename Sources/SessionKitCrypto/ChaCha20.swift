/// The ChaCha20 stream cipher of RFC 8439: a 32-byte key, a 12-byte nonce and a 32-bit block
/// counter.
///
/// ```swift
/// let ciphertext = ChaCha20.xor(plaintext, key: key, nonce: nonce, counter: 1)
/// let plaintext2 = ChaCha20.xor(ciphertext, key: key, nonce: nonce, counter: 1)
/// ```
///
/// Encryption and decryption are the same operation: XOR with the keystream. ChaCha20 alone
/// does not authenticate; pair it with a MAC over the ciphertext (PASETO v4.local uses keyed
/// ``BLAKE2b``) and check the tag with `ConstantTime.isEqual(_:_:)` before decrypting.
/// Never use a (key, nonce) pair twice: with a random nonce, prefer ``XChaCha20``, whose
/// 24-byte nonces can be drawn at random without fear of collisions.
///
/// **Counter limit.** The block counter is 32 bits, so one (key, nonce) pair gives at most
/// 2^32 blocks (256 GiB) of keystream. Wrapping the counter would reuse keystream, so a call
/// whose data would need blocks past counter 2^32 - 1 stops the program with a precondition
/// failure instead. With `counter: 0` that allows messages up to 256 GiB.
///
/// All arithmetic is additions, XORs and rotations by constants (no table lookups), so the
/// running time depends only on the length of the data.
public enum ChaCha20 {
    /// The key size in bytes: 32.
    public static let keyByteCount = 32

    /// The nonce size in bytes: 12.
    public static let nonceByteCount = 12

    /// Returns the 64-byte keystream block for `counter` (RFC 8439 section 2.3).
    ///
    /// `key` must be 32 bytes and `nonce` 12 bytes.
    public static func block(key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        let input = checkedInput(key: key, nonce: nonce)
        return [UInt8](unsafeUninitializedCapacity: 64) { output, initialized in
            ChaCha20Core.block(input, counter: counter, into: UnsafeMutableRawPointer(output.baseAddress!))
            initialized = 64
        }
    }

    /// Returns `data` XORed with the keystream that starts at block `counter`: encrypts
    /// plaintext, or decrypts ciphertext (RFC 8439 section 2.4).
    ///
    /// `key` must be 32 bytes and `nonce` 12 bytes. The data must not need keystream blocks
    /// past counter 2^32 - 1, that is `counter + ceil(count / 64) <= 2^32`; RFC 8439's
    /// AEAD construction starts the payload at counter 1.
    @inlinable
    public static func xor<Bytes: Sequence<UInt8>>(
        _ data: Bytes, key: [UInt8], nonce: [UInt8], counter: UInt32 = 0
    ) -> [UInt8] {
        withContiguousBytes(of: data) { xor(bufferPointer: $0, key: key, nonce: nonce, counter: counter) }
    }

    @usableFromInline
    static func xor(bufferPointer data: UnsafeRawBufferPointer, key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        let input = checkedInput(key: key, nonce: nonce)
        return xor(bufferPointer: data, input: input, counter: counter)
    }

    /// XORs with the keystream of an already checked key and nonce.
    static func xor(bufferPointer data: UnsafeRawBufferPointer, input: ChaCha20Input, counter: UInt32) -> [UInt8] {
        checkCounter(counter, byteCount: data.count)
        return [UInt8](unsafeUninitializedCapacity: data.count) { output, initialized in
            if let source = data.baseAddress, data.count > 0 {
                ChaCha20Core.xor(
                    source, UnsafeMutableRawPointer(output.baseAddress!), count: data.count,
                    input: input, counter: counter)
            }
            initialized = data.count
        }
    }

    /// Checks the key and nonce sizes and reads them as words.
    static func checkedInput(key: [UInt8], nonce: [UInt8]) -> ChaCha20Input {
        precondition(key.count == keyByteCount, "ChaCha20 keys are 32 bytes, not \(key.count)")
        precondition(nonce.count == nonceByteCount, "ChaCha20 nonces are 12 bytes, not \(nonce.count)")
        return key.withUnsafeBytes { key in
            nonce.withUnsafeBytes { nonce in ChaCha20Input(key: key, nonce: nonce) }
        }
    }

    /// Stops the program if `byteCount` bytes starting at block `counter` would wrap the
    /// 32-bit block counter.
    static func checkCounter(_ counter: UInt32, byteCount: Int) {
        let blocks = UInt64(byteCount / 64) + (byteCount % 64 == 0 ? 0 : 1)
        precondition(
            UInt64(counter) + blocks <= 1 << 32,
            "ChaCha20: \(byteCount) bytes from block counter \(counter) would wrap the 32-bit counter (RFC 8439 allows 2^32 blocks per nonce)"
        )
    }
}

/// HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2): derives a 32-byte subkey from a
/// 32-byte key and a 16-byte nonce. It is the first step of ``XChaCha20``.
///
/// ```swift
/// let subkey = HChaCha20.subkey(key: key, nonce: Array(nonce24[..<16]))
/// ```
public enum HChaCha20 {
    /// Returns the 32-byte subkey for `key` (32 bytes) and `nonce` (16 bytes): the ChaCha20
    /// rounds on the constants, the key and the nonce (in place of counter and nonce), without
    /// the final addition, keeping words 0-3 and 12-15.
    public static func subkey(key: [UInt8], nonce: [UInt8]) -> [UInt8] {
        precondition(key.count == 32, "HChaCha20 keys are 32 bytes, not \(key.count)")
        precondition(nonce.count == 16, "HChaCha20 nonces are 16 bytes, not \(nonce.count)")
        var words = subkeyWords(key: key, nonce: nonce)
        return withUnsafeBytes(of: &words) { Array($0) }
    }

    /// The subkey as eight little-endian-stored words (their bytes are the subkey).
    static func subkeyWords(key: [UInt8], nonce: [UInt8]) -> (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
        key.withUnsafeBytes { key in nonce.withUnsafeBytes { nonce in subkeyWords(key: key, nonce: nonce) } }
    }

    /// The subkey of a 32-byte key and the first 16 bytes of `nonce`, as eight
    /// little-endian-stored words.
    static func subkeyWords(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer
    ) -> (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) {
        // Words 12 to 15 hold the 16-byte nonce: its first word goes where the counter would
        // be, the other three where the ChaCha20 nonce would be.
        let n = UInt32(littleEndian: nonce.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let c = ChaCha20Input(key: key, nonce: UnsafeRawBufferPointer(rebasing: nonce[4..<16]))
        let x = ChaCha20Core.rounds(ChaCha20Core.state(c, counter: n))
        return (
            x.0.littleEndian, x.1.littleEndian, x.2.littleEndian, x.3.littleEndian,
            x.12.littleEndian, x.13.littleEndian, x.14.littleEndian, x.15.littleEndian
        )
    }
}

/// XChaCha20 (draft-irtf-cfrg-xchacha-03): ChaCha20 with a 24-byte nonce, long enough to
/// draw at random for every message.
///
/// It is ChaCha20 keyed with `HChaCha20.subkey(key: key, nonce: nonce[0..<16])` and the
/// 12-byte nonce made of four zero bytes and `nonce[16..<24]`.
///
/// ```swift
/// let nonce = try SecureRandom.bytes(count: 24)
/// let ciphertext = XChaCha20.xor(plaintext, key: key, nonce: nonce)
/// ```
///
/// As with ``ChaCha20``, this only encrypts: authenticate the nonce and ciphertext with a MAC
/// and compare tags with `ConstantTime.isEqual(_:_:)`. The same 2^32-block limit per
/// (key, nonce) applies, enforced by a precondition.
public enum XChaCha20 {
    /// The key size in bytes: 32.
    public static let keyByteCount = 32

    /// The nonce size in bytes: 24.
    public static let nonceByteCount = 24

    /// Returns `data` XORed with the XChaCha20 keystream that starts at block `counter`:
    /// encrypts plaintext, or decrypts ciphertext.
    ///
    /// `key` must be 32 bytes and `nonce` 24 bytes; `counter + ceil(count / 64)` must not
    /// exceed 2^32.
    @inlinable
    public static func xor<Bytes: Sequence<UInt8>>(
        _ data: Bytes, key: [UInt8], nonce: [UInt8], counter: UInt32 = 0
    ) -> [UInt8] {
        withContiguousBytes(of: data) { xor(bufferPointer: $0, key: key, nonce: nonce, counter: counter) }
    }

    @usableFromInline
    static func xor(bufferPointer data: UnsafeRawBufferPointer, key: [UInt8], nonce: [UInt8], counter: UInt32) -> [UInt8] {
        precondition(key.count == keyByteCount, "XChaCha20 keys are 32 bytes, not \(key.count)")
        precondition(nonce.count == nonceByteCount, "XChaCha20 nonces are 24 bytes, not \(nonce.count)")
        let input = key.withUnsafeBytes { key in nonce.withUnsafeBytes { nonce in chachaInput(key: key, nonce: nonce) } }
        return ChaCha20.xor(bufferPointer: data, input: input, counter: counter)
    }

    /// Writes `data` XORed with the keystream from block 0 to `destination` (`data.count`
    /// bytes, which may be `data` itself), allocating nothing.
    ///
    /// - Precondition: `key` is 32 bytes and `nonce` 24.
    package static func xor(
        _ data: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawPointer
    ) {
        precondition(key.count == keyByteCount, "XChaCha20 keys are 32 bytes, not \(key.count)")
        precondition(nonce.count == nonceByteCount, "XChaCha20 nonces are 24 bytes, not \(nonce.count)")
        guard let source = data.baseAddress, data.count > 0 else { return }
        ChaCha20.checkCounter(0, byteCount: data.count)
        ChaCha20Core.xor(source, destination, count: data.count, input: chachaInput(key: key, nonce: nonce), counter: 0)
    }

    /// The ChaCha20 key and nonce of XChaCha20: the HChaCha20 subkey of the key and the first
    /// 16 nonce bytes, and four zero bytes followed by the last 8 nonce bytes.
    static func chachaInput(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer) -> ChaCha20Input {
        var subkey = HChaCha20.subkeyWords(key: key, nonce: nonce)
        var chachaNonce: (UInt32, UInt32, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &chachaNonce) { n in
            n.baseAddress!.advanced(by: 4).copyMemory(from: nonce.baseAddress! + 16, byteCount: 8)
        }
        return withUnsafeBytes(of: &subkey) { k in
            withUnsafeBytes(of: &chachaNonce) { n in ChaCha20Input(key: k, nonce: n) }
        }
    }
}
