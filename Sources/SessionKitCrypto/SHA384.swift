/// SHA-384 (FIPS 180-4), one-shot or streaming.
///
/// ```swift
/// let digest = SHA384.hash(data: "abc".utf8)
///
/// var hasher = SHA384()
/// hasher.update(data: part1)
/// hasher.update(data: part2)
/// let same = hasher.finalize()
/// ```
///
/// A `SHA384` value holds its whole state inline (128-byte block buffer included), so hashing
/// never allocates.
public struct SHA384: HashFunction {
    @usableFromInline
    var engine: SHA512Engine

    /// 128.
    public static var blockByteCount: Int { 128 }

    /// Creates a hasher that has absorbed nothing.
    @inlinable
    public init() {
        engine = SHA512Engine(state: .sha384)
    }

    /// Absorbs the bytes in `bufferPointer`.
    @inlinable
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        engine.update(bufferPointer)
    }

    /// Returns the digest of everything absorbed so far; the hasher is unchanged and can
    /// keep absorbing.
    @inlinable
    public func finalize() -> SHA384Digest {
        SHA384Digest(engine.finalState())
    }
}
