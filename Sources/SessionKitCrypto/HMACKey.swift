/// An HMAC key prepared for one hash function: the hash states after absorbing the
/// inner and outer padded key (RFC 2104), computed once.
///
/// Every MAC made with an `HMACKey` starts from copies of those states, so it costs two
/// compressions less than `HMAC.authenticationCode(for:using:)` with a
/// ``SymmetricKey``, and never allocates. Build one per secret and share it: it is an
/// immutable `Sendable` value.
///
/// ```swift
/// let signer = HMACKey<SHA512>(SymmetricKey(data: secret))
/// let tag = signer.authenticationCode(for: cookieValue.utf8)
/// let ok = signer.isValidAuthenticationCode(receivedTag, authenticating: cookieValue.utf8)
/// ```
public struct HMACKey<H: HashFunction>: Sendable {
    /// The hash state after absorbing `key XOR ipad`.
    @usableFromInline
    let inner: H
    /// The hash state after absorbing `key XOR opad`.
    @usableFromInline
    let outer: H

    /// Prepares `key` for HMAC with `H`.
    @inlinable
    public init(_ key: SymmetricKey) {
        self = key.withUnsafeBytes { Self(keyBytes: $0) }
    }

    /// Prepares the key given as raw bytes for HMAC with `H`.
    @inlinable
    public init(keyBytes key: UnsafeRawBufferPointer) {
        let blockSize = H.blockByteCount
        var inner = H()
        var outer = H()
        withUnsafeTemporaryAllocation(byteCount: blockSize, alignment: 8) { pad in
            // K0: the key, or its digest when longer than a block, zero-padded to a block.
            pad.initializeMemory(as: UInt8.self, repeating: 0)
            if key.count > blockSize {
                let digest = H.hash(bufferPointer: key)
                precondition(H.Digest.byteCount <= blockSize, "HMAC needs a hash whose digest fits in one block")
                digest.withUnsafeBytes { pad.copyMemory(from: $0) }
            } else if key.count > 0 {
                pad.copyMemory(from: key)
            }
            for i in 0..<blockSize { pad[i] ^= 0x36 }
            inner.update(bufferPointer: UnsafeRawBufferPointer(pad))
            for i in 0..<blockSize { pad[i] ^= 0x36 ^ 0x5C }
            outer.update(bufferPointer: UnsafeRawBufferPointer(pad))
            for i in 0..<blockSize { pad[i] = 0 }
        }
        self.inner = inner
        self.outer = outer
    }

    /// Returns the MAC of `data` under this key.
    @inlinable
    public func authenticationCode<Bytes: Sequence<UInt8>>(for data: Bytes) -> HashedAuthenticationCode<H> {
        var hasher = inner
        hasher.update(data: data)
        return finish(hasher)
    }

    /// Returns the MAC of the bytes in `bufferPointer` under this key.
    @inlinable
    public func authenticationCode(bufferPointer: UnsafeRawBufferPointer) -> HashedAuthenticationCode<H> {
        var hasher = inner
        hasher.update(bufferPointer: bufferPointer)
        return finish(hasher)
    }

    /// Returns whether `authenticationCode` is the MAC of `data` under this key, comparing
    /// in constant time. A code of the wrong length is invalid.
    @inlinable
    public func isValidAuthenticationCode<Code: Sequence<UInt8>, Bytes: Sequence<UInt8>>(
        _ authenticationCode: Code,
        authenticating data: Bytes
    ) -> Bool {
        let expected = self.authenticationCode(for: data)
        return withContiguousBytes(of: authenticationCode) { code in
            expected.withUnsafeBytes { ConstantTime.isEqual(code, $0) }
        }
    }

    /// Completes a MAC: the outer hash of the inner digest.
    @inlinable
    func finish(_ innerHasher: H) -> HashedAuthenticationCode<H> {
        let innerDigest = innerHasher.finalize()
        var hasher = outer
        innerDigest.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return HashedAuthenticationCode(digest: hasher.finalize())
    }
}
