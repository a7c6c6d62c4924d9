/// The fixed-size output of a ``HashFunction``.
///
/// A digest is a random-access collection of its bytes, so `Array(digest)`,
/// `digest.prefix(16)` and `for byte in digest` work; `==` compares in constant time;
/// `description` is the lowercase hexadecimal form.
///
/// Conforming types only store their bytes inline and implement
/// ``withUnsafeBytes(_:)``; everything else comes from this protocol's extension.
public protocol Digest: RandomAccessCollection, Hashable, Sendable, CustomStringConvertible
where Element == UInt8, Index == Int {
    /// The number of bytes in this kind of digest.
    static var byteCount: Int { get }

    /// Calls `body` with the digest's bytes, in order, without copying them.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension Digest {
    /// Always 0.
    @inlinable
    public var startIndex: Int { 0 }

    /// Always ``byteCount``.
    @inlinable
    public var endIndex: Int { Self.byteCount }

    /// The byte at `position`, which must be in `0..<byteCount`.
    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < Self.byteCount, "digest index out of range")
        return withUnsafeBytes { $0[position] }
    }

    /// Calls `body` with the digest's bytes; digests are always contiguous.
    @inlinable
    public func withContiguousStorageIfAvailable<Result>(
        _ body: (UnsafeBufferPointer<UInt8>) throws -> Result
    ) rethrows -> Result? {
        try withUnsafeBytes { try body($0.assumingMemoryBound(to: UInt8.self)) }
    }

    /// Compares two digests in constant time.
    @inlinable
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in ConstantTime.isEqual(l, r) } }
    }

    /// Feeds the digest's bytes to `hasher`.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// The digest as lowercase hexadecimal, two characters per byte.
    public var description: String {
        withUnsafeBytes { hexString($0) }
    }
}

/// Lowercase hexadecimal text for `bytes`.
func hexString(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
        digits.withUTF8Buffer { digits in
            for (i, byte) in bytes.enumerated() {
                out[2 * i] = digits[Int(byte >> 4)]
                out[2 * i + 1] = digits[Int(byte & 0x0F)]
            }
        }
        return bytes.count * 2
    }
}
