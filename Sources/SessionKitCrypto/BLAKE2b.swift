/// One 128-byte BLAKE2b input block, kept inline.
@usableFromInline
typealias BLAKE2bBlock = (
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
)

/// BLAKE2b (RFC 7693), unkeyed or keyed, with digests of 1 to 64 bytes; one-shot or streaming.
///
/// ```swift
/// let digest = BLAKE2b.hash(data: "abc".utf8)                          // 64 bytes
/// let short = BLAKE2b.hash(data: "abc".utf8, outputByteCount: 32)      // BLAKE2b-256
/// let mac = BLAKE2b.hash(data: message, key: macKey, outputByteCount: 32)
///
/// var hasher = BLAKE2b(key: macKey, outputByteCount: 32)
/// hasher.update(data: header)
/// hasher.update(data: body)
/// let same = hasher.finalize()
/// ```
///
/// The output length is a parameter of the function, not a truncation: BLAKE2b-256 of a
/// message is not the first half of its BLAKE2b-512. With a key, BLAKE2b is a MAC (the
/// "prefix-MAC" mode of RFC 7693 section 2.9); compare received tags with
/// `ConstantTime.isEqual(_:_:)`, never with `==`.
///
/// A `BLAKE2b` value holds its whole state inline (the 128-byte block buffer included), so
/// hashing never allocates except for the returned array. Copying a hasher copies its state.
/// BLAKE2b is not a ``HashFunction``: its digest length is chosen per hasher.
public struct BLAKE2b: Sendable {
    /// The largest digest, in bytes: 64.
    public static let maximumOutputByteCount = 64

    /// The largest key, in bytes: 64.
    public static let maximumKeyByteCount = 64

    @usableFromInline var state: BLAKE2bState
    @usableFromInline var buffer: BLAKE2bBlock = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes waiting in `buffer`, 0 to 128. A full buffer is compressed only when more input
    /// arrives, because the last block of the message is compressed differently.
    @usableFromInline var buffered: Int = 0
    /// The digest length this hasher produces, 1 to 64.
    @usableFromInline let outputByteCount: Int

    /// Creates an unkeyed hasher that produces `outputByteCount` bytes (1 to 64).
    @inlinable
    public init(outputByteCount: Int = 64) {
        precondition(
            (1...BLAKE2b.maximumOutputByteCount).contains(outputByteCount),
            "BLAKE2b output length must be 1 to 64 bytes, not \(outputByteCount)"
        )
        self.outputByteCount = outputByteCount
        state = BLAKE2bState(outputByteCount: outputByteCount, keyByteCount: 0)
    }

    /// Creates a keyed hasher (a MAC) that produces `outputByteCount` bytes (1 to 64).
    ///
    /// `key` holds 0 to 64 bytes; an empty key gives the unkeyed hash.
    @inlinable
    public init<Key: Sequence<UInt8>>(key: Key, outputByteCount: Int = 64) {
        self.init(outputByteCount: outputByteCount)
        withContiguousBytes(of: key) { setKey($0) }
    }

    /// Loads the key: the parameter block records its length and the key, zero-padded to a
    /// block, becomes the first block of the message (RFC 7693 section 3.3).
    @usableFromInline
    mutating func setKey(_ key: UnsafeRawBufferPointer) {
        precondition(
            key.count <= BLAKE2b.maximumKeyByteCount,
            "BLAKE2b keys are 0 to 64 bytes, not \(key.count)"
        )
        guard key.count > 0, let base = key.baseAddress else { return }
        state = BLAKE2bState(outputByteCount: outputByteCount, keyByteCount: key.count)
        withUnsafeMutableBytes(of: &buffer) { block in
            block.baseAddress!.copyMemory(from: base, byteCount: key.count)
        }
        buffered = 128
    }

    /// Absorbs `data`: `[UInt8]`, `ArraySlice<UInt8>`, `Data`, `String.UTF8View`,
    /// `UnsafeRawBufferPointer` or any other sequence of bytes.
    ///
    /// Contiguous storage is read in place; other sequences are copied first.
    @inlinable
    public mutating func update<Bytes: Sequence<UInt8>>(data: Bytes) {
        withContiguousBytes(of: data) { update(bufferPointer: $0) }
    }

    /// Absorbs the bytes in `bufferPointer`.
    ///
    /// Calls of any sizes give the same result as one call on their concatenation.
    @inlinable
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        absorb(bufferPointer)
    }

    /// Fills the buffer, compresses whole blocks straight from the caller's memory, and keeps
    /// the last 1 to 128 bytes, which may turn out to be the final block.
    @usableFromInline
    mutating func absorb(_ input: UnsafeRawBufferPointer) {
        guard var source = input.baseAddress, input.count > 0 else { return }
        var remaining = input.count
        if buffered > 0 {
            let take = Swift.min(128 - buffered, remaining)
            withUnsafeMutableBytes(of: &buffer) { block in
                (block.baseAddress! + buffered).copyMemory(from: source, byteCount: take)
            }
            buffered += take
            source += take
            remaining -= take
            if remaining == 0 { return }
            withUnsafeBytes(of: &buffer) { block in
                state.compress(block.baseAddress!, blockCount: 1, increment: 128, finalFlag: 0)
            }
            buffered = 0
        }
        if remaining > 128 {
            let blocks = (remaining - 1) >> 7
            state.compress(source, blockCount: blocks, increment: 128, finalFlag: 0)
            source += blocks << 7
            remaining -= blocks << 7
        }
        withUnsafeMutableBytes(of: &buffer) { block in
            block.baseAddress!.copyMemory(from: source, byteCount: remaining)
        }
        buffered = remaining
    }

    /// Returns the digest of everything absorbed so far (`outputByteCount` bytes); the hasher
    /// is unchanged and can keep absorbing.
    @inlinable
    public func finalize() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: outputByteCount) { output, initialized in
            finalize(into: UnsafeMutableRawBufferPointer(output))
            initialized = outputByteCount
        }
    }

    /// Compresses the zero-padded last block with the final flag and writes the first
    /// `outputByteCount` bytes of the little-endian chaining words to `output` (at least that
    /// long); the hasher is unchanged.
    @usableFromInline
    package func finalize(into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= outputByteCount, "BLAKE2b.finalize(into:) needs \(outputByteCount) bytes, not \(output.count)")
        var state = self.state
        var buffer = self.buffer
        let buffered = self.buffered
        withUnsafeMutableBytes(of: &buffer) { block in
            let base = block.baseAddress!
            (base + buffered).initializeMemory(as: UInt8.self, repeating: 0, count: 128 - buffered)
            state.compress(base, blockCount: 1, increment: UInt64(buffered), finalFlag: ~0)
        }
        var words = (
            state.h0.littleEndian, state.h1.littleEndian, state.h2.littleEndian, state.h3.littleEndian,
            state.h4.littleEndian, state.h5.littleEndian, state.h6.littleEndian, state.h7.littleEndian
        )
        withUnsafeBytes(of: &words) { bytes in
            output.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: outputByteCount)
        }
    }

    /// Returns the unkeyed BLAKE2b digest of `data`, `outputByteCount` (1 to 64) bytes long.
    ///
    /// ```swift
    /// BLAKE2b.hash(data: "abc".utf8, outputByteCount: 32)
    /// ```
    @inlinable
    public static func hash<Bytes: Sequence<UInt8>>(data: Bytes, outputByteCount: Int = 64) -> [UInt8] {
        var hasher = BLAKE2b(outputByteCount: outputByteCount)
        hasher.update(data: data)
        return hasher.finalize()
    }

    /// Returns the keyed BLAKE2b digest (MAC) of `data` under `key` (0 to 64 bytes),
    /// `outputByteCount` (1 to 64) bytes long.
    ///
    /// Check a received tag with `ConstantTime.isEqual(_:_:)`.
    @inlinable
    public static func hash<Bytes: Sequence<UInt8>, Key: Sequence<UInt8>>(
        data: Bytes,
        key: Key,
        outputByteCount: Int = 64
    ) -> [UInt8] {
        var hasher = BLAKE2b(key: key, outputByteCount: outputByteCount)
        hasher.update(data: data)
        return hasher.finalize()
    }
}
