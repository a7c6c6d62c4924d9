/// A secret key for ``HMAC``.
///
/// Its `description` never shows the key bytes. Equality is constant-time.
///
/// ```swift
/// let key = try SymmetricKey(size: .bits256)          // fresh random key
/// let loaded = SymmetricKey(data: secretBytes)        // key from configuration
/// ```
public struct SymmetricKey: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline
    let bytes: [UInt8]

    /// Creates a key from the given bytes (any length; HMAC hashes keys longer than the
    /// hash's block size).
    @inlinable
    public init<Bytes: Sequence<UInt8>>(data: Bytes) {
        bytes = Array(data)
    }

    /// Creates a key of `size` random bytes from the operating system.
    ///
    /// - Throws: ``SecureRandomError`` when the operating system refuses to provide random bytes.
    public init(size: SymmetricKeySize) throws(SecureRandomError) {
        bytes = try SecureRandom.bytes(count: size.bitCount / 8)
    }

    /// The key length in bits.
    public var bitCount: Int { bytes.count * 8 }

    /// Calls `body` with the key bytes. Do not let them escape the closure.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes(body)
    }

    /// Compares two keys in constant time.
    public static func == (lhs: SymmetricKey, rhs: SymmetricKey) -> Bool {
        ConstantTime.isEqual(lhs.bytes, rhs.bytes)
    }

    /// Feeds the key length only to `hasher`, so a hash table leaks nothing of the bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
    }

    /// `SymmetricKey(256 bits)`: the size, never the bytes.
    public var description: String { "SymmetricKey(\(bitCount) bits)" }
}

/// The size of a random ``SymmetricKey``.
public struct SymmetricKeySize: Sendable, Hashable {
    /// The key length in bits, a positive multiple of 8.
    public let bitCount: Int

    /// A key size of `bitCount` bits, which must be a positive multiple of 8.
    public init(bitCount: Int) {
        precondition(bitCount > 0 && bitCount % 8 == 0, "a key size must be a positive multiple of 8 bits")
        self.bitCount = bitCount
    }

    /// 128 bits.
    public static let bits128 = SymmetricKeySize(bitCount: 128)
    /// 192 bits.
    public static let bits192 = SymmetricKeySize(bitCount: 192)
    /// 256 bits: the usual choice for HMAC-SHA256 and cookie signing.
    public static let bits256 = SymmetricKeySize(bitCount: 256)
    /// 512 bits: a full SHA-512 output's worth, for HMAC-SHA512.
    public static let bits512 = SymmetricKeySize(bitCount: 512)
}
