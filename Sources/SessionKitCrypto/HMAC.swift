/// HMAC (RFC 2104) over any ``HashFunction``: one-shot or streaming.
///
/// ```swift
/// let key = SymmetricKey(data: secret)
/// let tag = HMAC<SHA512>.authenticationCode(for: message.utf8, using: key)
/// let ok = HMAC<SHA512>.isValidAuthenticationCode(tag, authenticating: message.utf8, using: key)
///
/// var mac = HMAC<SHA256>(key: key)
/// mac.update(data: part1)
/// mac.update(data: part2)
/// let streamed = mac.finalize()
/// ```
///
/// To sign many messages with one secret, prepare an ``HMACKey`` once and pass it instead
/// of the ``SymmetricKey``: each MAC then skips the two key-block compressions.
public struct HMAC<H: HashFunction>: Sendable {
    /// The MAC type this HMAC produces.
    public typealias MAC = HashedAuthenticationCode<H>

    /// A key prepared for this hash function, to reuse across messages.
    public typealias Key = HMACKey<H>

    @usableFromInline
    let key: HMACKey<H>
    @usableFromInline
    var inner: H

    /// Starts a MAC under `key`.
    @inlinable
    public init(key: SymmetricKey) {
        self.init(key: HMACKey<H>(key))
    }

    /// Starts a MAC under a prepared key.
    @inlinable
    public init(key: HMACKey<H>) {
        self.key = key
        self.inner = key.inner
    }

    /// Absorbs `data` (any sequence of bytes, read in place when contiguous).
    @inlinable
    public mutating func update<Bytes: Sequence<UInt8>>(data: Bytes) {
        inner.update(data: data)
    }

    /// Absorbs the bytes in `bufferPointer`.
    @inlinable
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        inner.update(bufferPointer: bufferPointer)
    }

    /// Returns the MAC of everything absorbed so far, leaving this value unchanged.
    @inlinable
    public func finalize() -> MAC {
        key.finish(inner)
    }

    /// Returns the MAC of `data` under `key`.
    @inlinable
    public static func authenticationCode<Bytes: Sequence<UInt8>>(for data: Bytes, using key: SymmetricKey) -> MAC {
        HMACKey<H>(key).authenticationCode(for: data)
    }

    /// Returns the MAC of `data` under a prepared key (two compressions cheaper).
    @inlinable
    public static func authenticationCode<Bytes: Sequence<UInt8>>(for data: Bytes, using key: HMACKey<H>) -> MAC {
        key.authenticationCode(for: data)
    }

    /// Returns whether `authenticationCode` is the MAC of `data` under `key`, comparing in
    /// constant time. A code of the wrong length is invalid.
    @inlinable
    public static func isValidAuthenticationCode<Code: Sequence<UInt8>, Bytes: Sequence<UInt8>>(
        _ authenticationCode: Code,
        authenticating data: Bytes,
        using key: SymmetricKey
    ) -> Bool {
        HMACKey<H>(key).isValidAuthenticationCode(authenticationCode, authenticating: data)
    }

    /// Returns whether `authenticationCode` is the MAC of `data` under a prepared key,
    /// comparing in constant time. A code of the wrong length is invalid.
    @inlinable
    public static func isValidAuthenticationCode<Code: Sequence<UInt8>, Bytes: Sequence<UInt8>>(
        _ authenticationCode: Code,
        authenticating data: Bytes,
        using key: HMACKey<H>
    ) -> Bool {
        key.isValidAuthenticationCode(authenticationCode, authenticating: data)
    }
}
