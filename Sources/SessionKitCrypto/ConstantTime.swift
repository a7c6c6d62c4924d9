/// Comparisons whose running time does not depend on where two byte strings differ.
///
/// Use these, never `==` on arrays, to check a MAC or any other secret-derived value:
/// an early-exit comparison tells an attacker, through timing, how many leading bytes
/// of a forgery were right.
///
/// ```swift
/// if ConstantTime.isEqual(receivedTag, expectedTag) { ... }
/// ```
public enum ConstantTime {
    /// Returns whether two byte buffers hold the same bytes, in time that depends only on
    /// their lengths.
    ///
    /// Buffers of different lengths compare unequal at once: lengths are not secret.
    @inline(never)
    public static func isEqual(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard let l = lhs.baseAddress, let r = rhs.baseAddress else { return true }
        let count = lhs.count
        var difference: UInt64 = 0
        var i = 0
        while i + 8 <= count {
            difference |= l.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ^ r.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            difference |= UInt64(l.load(fromByteOffset: i, as: UInt8.self) ^ r.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        return difference == 0
    }

    /// Returns whether two byte sequences are equal, in time that depends only on their
    /// lengths; contiguous storage (`[UInt8]`, `Data`, a digest, `String.UTF8View`) is
    /// compared in place, other sequences are copied first.
    @inlinable
    public static func isEqual<L: Sequence<UInt8>, R: Sequence<UInt8>>(_ lhs: L, _ rhs: R) -> Bool {
        withContiguousBytes(of: lhs) { l in
            withContiguousBytes(of: rhs) { r in
                isEqual(l, r)
            }
        }
    }
}

/// Calls `body` with the bytes of `bytes`, in place when the sequence has contiguous storage
/// and through a temporary array otherwise.
@inlinable
func withContiguousBytes<Bytes: Sequence<UInt8>, Result>(
    of bytes: Bytes,
    _ body: (UnsafeRawBufferPointer) throws -> Result
) rethrows -> Result {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(bytes).withUnsafeBytes(body)
}
