/// A message authentication code produced by ``HMAC``.
///
/// Like a digest it is a collection of its bytes with a hexadecimal `description`, and
/// `==` compares in constant time. To check a code received from outside, use
/// `HMAC.isValidAuthenticationCode(_:authenticating:using:)` or
/// ``HMACKey/isValidAuthenticationCode(_:authenticating:)``.
public struct HashedAuthenticationCode<H: HashFunction>: Digest {
    /// The outer hash's digest, which is the MAC.
    @usableFromInline
    let digest: H.Digest

    @inlinable
    init(digest: H.Digest) {
        self.digest = digest
    }

    /// The MAC length in bytes: the digest length of `H`.
    @inlinable
    public static var byteCount: Int { H.Digest.byteCount }

    /// Calls `body` with the MAC bytes.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try digest.withUnsafeBytes(body)
    }
}
