/// HKDF (RFC 5869), the HMAC-based extract-and-expand key derivation function, over any
/// ``HashFunction``.
///
/// ```swift
/// let key = HKDF<SHA512>.deriveKey(
///     inputKeyMaterial: Array(secret.utf8), salt: Array("app".utf8), info: Array("cookie key".utf8),
///     outputByteCount: 32)
/// ```
///
/// Use it to turn a secret that is not uniformly random (a passphrase from configuration)
/// or a master key into one or more independent keys; `info` separates the keys derived
/// from one secret for different purposes.
public enum HKDF<H: HashFunction> {
    /// The largest output RFC 5869 allows: 255 blocks of the hash's digest size.
    public static var maximumOutputByteCount: Int { 255 * H.Digest.byteCount }

    /// HKDF-Extract: the pseudorandom key `HMAC(salt, inputKeyMaterial)`.
    ///
    /// An empty `salt` stands for a string of zero bytes as long as the digest, as RFC 5869
    /// specifies (HMAC pads both to the same block).
    public static func extract<IKM: Sequence<UInt8>, Salt: Sequence<UInt8>>(
        inputKeyMaterial: IKM, salt: Salt
    ) -> HashedAuthenticationCode<H> {
        HMAC<H>.authenticationCode(for: inputKeyMaterial, using: SymmetricKey(data: salt))
    }

    /// HKDF-Expand: `outputByteCount` bytes from the pseudorandom key `pseudoRandomKey`
    /// and the context `info`.
    ///
    /// - Precondition: `outputByteCount` is between 0 and ``maximumOutputByteCount``.
    public static func expand<PRK: Sequence<UInt8>, Info: Sequence<UInt8>>(
        pseudoRandomKey: PRK, info: Info, outputByteCount: Int
    ) -> [UInt8] {
        precondition(
            outputByteCount >= 0 && outputByteCount <= maximumOutputByteCount,
            "HKDF can produce at most 255 digests (\(maximumOutputByteCount) bytes)")
        let key = HMACKey<H>(SymmetricKey(data: pseudoRandomKey))
        let info = Array(info)
        var output: [UInt8] = []
        output.reserveCapacity(outputByteCount)
        var previous: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < outputByteCount {
            // T(i) = HMAC(PRK, T(i-1) || info || i)
            var mac = HMAC<H>(key: key)
            mac.update(data: previous)
            mac.update(data: info)
            mac.update(data: CollectionOfOne(counter))
            previous = Array(mac.finalize())
            output.append(contentsOf: previous.prefix(outputByteCount - output.count))
            counter &+= 1
        }
        return output
    }

    /// Extract then expand: `outputByteCount` bytes derived from `inputKeyMaterial`.
    ///
    /// - Parameters:
    ///   - inputKeyMaterial: the secret.
    ///   - salt: a non-secret value that separates applications; may be empty.
    ///   - info: the purpose of the derived key; may be empty.
    ///   - outputByteCount: at most ``maximumOutputByteCount``.
    public static func deriveKey<IKM: Sequence<UInt8>, Salt: Sequence<UInt8>, Info: Sequence<UInt8>>(
        inputKeyMaterial: IKM, salt: Salt, info: Info, outputByteCount: Int
    ) -> [UInt8] {
        let prk = extract(inputKeyMaterial: inputKeyMaterial, salt: salt)
        return expand(pseudoRandomKey: prk, info: info, outputByteCount: outputByteCount)
    }
}
