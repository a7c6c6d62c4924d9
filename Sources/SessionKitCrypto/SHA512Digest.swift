/// The 64-byte output of ``SHA512``.
public struct SHA512Digest: Digest {
    /// The digest bytes in order, as eight words already converted to big-endian.
    @usableFromInline
    let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    @inlinable
    init(_ state: SHA512State) {
        words = (
            state.h0.bigEndian, state.h1.bigEndian, state.h2.bigEndian, state.h3.bigEndian,
            state.h4.bigEndian, state.h5.bigEndian, state.h6.bigEndian, state.h7.bigEndian
        )
    }

    /// 64.
    public static var byteCount: Int { 64 }

    /// Calls `body` with the 64 digest bytes.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }
}
