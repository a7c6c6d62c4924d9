/// SHA-256 (FIPS 180-4), one-shot or streaming.
///
/// ```swift
/// let digest = SHA256.hash(data: "abc".utf8)
///
/// var hasher = SHA256()
/// hasher.update(data: part1)
/// hasher.update(data: part2)
/// let same = hasher.finalize()
/// ```
///
/// A `SHA256` value holds its whole state inline (64-byte block buffer included), so hashing
/// never allocates.
public struct SHA256: HashFunction {
    @usableFromInline
    var engine: SHA256Engine

    /// 64.
    public static var blockByteCount: Int { 64 }

    /// Creates a hasher that has absorbed nothing.
    @inlinable
    public init() {
        engine = SHA256Engine(state: .sha256)
    }

    /// Absorbs the bytes in `bufferPointer`.
    @inlinable
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        engine.update(bufferPointer)
    }

    /// Returns the digest of everything absorbed so far; the hasher is unchanged and can
    /// keep absorbing.
    @inlinable
    public func finalize() -> SHA256Digest {
        SHA256Digest(engine.finalState())
    }
}
