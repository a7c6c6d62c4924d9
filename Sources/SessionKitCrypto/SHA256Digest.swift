/// The 32-byte output of ``SHA256``.
public struct SHA256Digest: Digest {
    /// The digest bytes in order, as eight words already converted to big-endian.
    @usableFromInline
    let words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    @inlinable
    init(_ state: SHA256State) {
        words = (
            state.h0.bigEndian, state.h1.bigEndian, state.h2.bigEndian, state.h3.bigEndian,
            state.h4.bigEndian, state.h5.bigEndian, state.h6.bigEndian, state.h7.bigEndian
        )
    }

    /// 32.
    public static var byteCount: Int { 32 }

    /// Calls `body` with the 32 digest bytes.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try Swift.withUnsafeBytes(of: words, body)
    }
}
