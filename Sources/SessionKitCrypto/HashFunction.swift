/// A cryptographic hash function that absorbs bytes incrementally and produces a digest.
///
/// Conforming types are values: copying one copies the hashing state, so a prefix can be
/// hashed once and the copy continued with different suffixes (``HMAC`` relies on this).
/// Implementations must hold their state inline (no heap allocation per hash), accept
/// ``update(bufferPointer:)`` calls of any sizes with the same result as one call on the
/// concatenation, and leave the value unchanged by ``finalize()``.
///
/// ```swift
/// let digest = SHA512.hash(data: "hello".utf8)
///
/// var hasher = SHA256()
/// hasher.update(data: header)
/// hasher.update(data: body)
/// let checksum = hasher.finalize()
/// ```
public protocol HashFunction: Sendable {
    /// The digest type this function produces.
    associatedtype Digest: SessionKitCrypto.Digest

    /// The size in bytes of the blocks the function compresses (64 for SHA-256, 128 for
    /// SHA-384 and SHA-512); HMAC pads keys to this size.
    static var blockByteCount: Int { get }

    /// Creates a hasher that has absorbed nothing.
    init()

    /// Absorbs the bytes in `bufferPointer`.
    mutating func update(bufferPointer: UnsafeRawBufferPointer)

    /// Returns the digest of everything absorbed so far, leaving the hasher unchanged.
    func finalize() -> Digest
}

extension HashFunction {
    /// The size in bytes of this function's digest.
    @inlinable
    public static var byteCount: Int { Digest.byteCount }

    /// Absorbs `data`: `[UInt8]`, `ArraySlice<UInt8>`, `Data`, `String.UTF8View`,
    /// `UnsafeRawBufferPointer` or any other sequence of bytes.
    ///
    /// Contiguous storage is read in place; other sequences are copied through a small
    /// buffer on the stack.
    @inlinable
    public mutating func update<Bytes: Sequence<UInt8>>(data: Bytes) {
        let done: Void? = data.withContiguousStorageIfAvailable { update(bufferPointer: UnsafeRawBufferPointer($0)) }
        if done == nil {
            updateByCopying(data)
        }
    }

    /// Absorbs a sequence without contiguous storage, 256 bytes at a time.
    @inlinable
    mutating func updateByCopying<Bytes: Sequence<UInt8>>(_ data: Bytes) {
        var chunk: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
            = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var iterator = data.makeIterator()
        withUnsafeMutableBytes(of: &chunk) { chunk in
            var filled = 0
            while let byte = iterator.next() {
                chunk[filled] = byte
                filled += 1
                if filled == chunk.count {
                    update(bufferPointer: UnsafeRawBufferPointer(chunk))
                    filled = 0
                }
            }
            if filled > 0 {
                update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<filled]))
            }
        }
    }

    /// Returns the digest of `data` in one call.
    ///
    /// ```swift
    /// SHA256.hash(data: "abc".utf8).description
    /// // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// ```
    @inlinable
    public static func hash<Bytes: Sequence<UInt8>>(data: Bytes) -> Digest {
        var hasher = Self()
        hasher.update(data: data)
        return hasher.finalize()
    }

    /// Returns the digest of the bytes in `bufferPointer`.
    @inlinable
    public static func hash(bufferPointer: UnsafeRawBufferPointer) -> Digest {
        var hasher = Self()
        hasher.update(bufferPointer: bufferPointer)
        return hasher.finalize()
    }
}
