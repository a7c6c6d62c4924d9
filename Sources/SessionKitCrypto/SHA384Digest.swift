/// The 48-byte output of ``SHA384``.
public struct SHA384Digest: Digest {
    /// The digest bytes in order, as six words already converted to big-endian.
    @usableFromInline
    let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    @inlinable
    init(_ state: SHA512State) {
        words = (
            state.h0.bigEndian, state.h1.bigEndian, state.h2.bigEndian,
            state.h3.bigEndian, state.h4.bigEndian, state.h5.bigEndian
        )
    }

    /// 48.
    public static var byteCount: Int { 48 }

    /// Calls `body` with the 48 digest bytes.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }
}
