import SessionKitCrypto

/// The whole session in an encrypted cookie: a PASETO v4.local token (XChaCha20 with a
/// keyed-BLAKE2b tag) whose JSON claims are the session's values, with the issue and expiry
/// times as the registered claims `iat` and `exp`, and the cookie's name bound as implicit
/// assertion. The browser, and anyone who copies the cookie, can neither read nor change it;
/// any PASETO library with the key can (see Docs/encrypted-cookies.md).
///
/// ```swift
/// let key = try EncryptedCookieSessionInterface.generateKey()   // keep it: 32 random bytes
/// let interface = try EncryptedCookieSessionInterface(
///     keys: [key], options: CookieSessionConfiguration(secure: true, timeout: 1200, reissueTime: 120))
/// ```
///
/// It shares ``CookieSessionInterface``'s behaviour and options (timeout, re-issue, absolute
/// lifetime, the 4096-byte limit, ``CookieSessionConfiguration/onRejectedCookie``,
/// ``CookieSessionConfiguration/revocationStore``). Several keys rotate: the first encrypts,
/// every one is tried on reading (trial decryption: the token names no key), and a cookie
/// that an older key decrypted is re-issued with the first.
public struct EncryptedCookieSessionInterface: SessionInterface {
    /// The underlying cookie session interface.
    public let base: CookieSessionInterface

    /// The length of a key in bytes.
    public static let keyByteCount = 32
    /// The shortest secret ``init(secrets:options:clock:)`` accepts, in bytes (UTF-8), as for
    /// signed cookies.
    public static let minimumSecretLength = SignedSessionSerializer.minimumSecretLength
    /// The HKDF salt of ``deriveKey(fromSecret:)``.
    public static let keyDerivationSalt = "SessionKit encrypted cookie"
    /// The HKDF info of ``deriveKey(fromSecret:)``.
    public static let keyDerivationInfo = "PASETO v4.local key"

    /// Creates an encrypted cookie session interface from keys of 32 random bytes.
    ///
    /// - Parameters:
    ///   - keys: the first encrypts, all decrypt (rotate by putting a new key first).
    ///   - options: the cookie and lifetime options shared with signed cookies.
    ///   - clock: the clock for timestamps.
    /// - Throws: ``SessionError`` (`invalidConfiguration`) when no key is given, a key is not
    ///   32 bytes long, or the options are invalid.
    public init(keys: [[UInt8]], options: CookieSessionConfiguration = .init(), clock: SessionClock = .system) throws {
        guard !keys.isEmpty else {
            throw SessionError(.invalidConfiguration, "an encrypted cookie interface needs at least one key; pass keys: [key] with a key from EncryptedCookieSessionInterface.generateKey()")
        }
        if let index = keys.firstIndex(where: { $0.count != Self.keyByteCount }) {
            let position = keys.count == 1 ? "the key" : "key number \(index + 1) of \(keys.count)"
            throw SessionError(.invalidConfiguration, "\(position) is \(keys[index].count) bytes; a PASETO v4.local key is exactly \(Self.keyByteCount) random bytes. Make one with EncryptedCookieSessionInterface.generateKey(), or pass a secret phrase to init(secrets:) instead")
        }
        let serializer = EncryptedSessionSerializer(
            keys: keys, cookieName: options.cookieName, timeout: options.timeout, absoluteLifetime: options.absoluteLifetime)
        base = try CookieSessionInterface(serializer: serializer, options: options, clock: clock)
    }

    /// Creates an encrypted cookie session interface with keys derived from secrets (see
    /// ``deriveKey(fromSecret:)``).
    ///
    /// - Parameters:
    ///   - secrets: the first encrypts, all decrypt. Each at least ``minimumSecretLength``
    ///     bytes (UTF-8); 64 random characters or more is better.
    ///   - options: the cookie and lifetime options.
    ///   - clock: the clock for timestamps.
    /// - Throws: ``SessionError`` (`invalidConfiguration`) when no secret is given, a secret
    ///   is shorter than 32 bytes, or the options are invalid.
    public init(secrets: [String], options: CookieSessionConfiguration = .init(), clock: SessionClock = .system) throws {
        guard !secrets.isEmpty else {
            throw SessionError(.invalidConfiguration, "an encrypted cookie interface needs at least one secret; pass secrets: [yourSecret]")
        }
        if let index = secrets.firstIndex(where: { $0.utf8.count < Self.minimumSecretLength }) {
            let position = secrets.count == 1 ? "the secret" : "secret number \(index + 1) of \(secrets.count)"
            throw SessionError(.invalidConfiguration, "\(position) is \(secrets[index].utf8.count) bytes, shorter than \(Self.minimumSecretLength): a short secret can be guessed offline from one cookie. Use a long random secret (64 characters or more), or a key from EncryptedCookieSessionInterface.generateKey()")
        }
        try self.init(keys: secrets.map(Self.deriveKey(fromSecret:)), options: options, clock: clock)
    }

    /// Returns a new key: 32 bytes from the operating system's random generator.
    ///
    /// - Throws: ``SessionError`` (`invalidConfiguration`) when the operating system gives no
    ///   random bytes.
    public static func generateKey() throws -> [UInt8] {
        do {
            return try SecureRandom.bytes(count: keyByteCount)
        } catch {
            throw SessionError(.invalidConfiguration, "cannot make a random key: \(error)")
        }
    }

    /// The key ``init(secrets:options:clock:)`` uses for `secret`: HKDF-SHA-512 (RFC 5869)
    /// of the secret's UTF-8 bytes with salt ``keyDerivationSalt`` and info
    /// ``keyDerivationInfo``, 32 bytes.
    ///
    /// In Python: `HKDF(hashes.SHA512(), 32, b"SessionKit encrypted cookie",
    /// b"PASETO v4.local key").derive(secret.encode())` (the `cryptography` package).
    public static func deriveKey(fromSecret secret: String) -> [UInt8] {
        HKDF<SHA512>.deriveKey(
            inputKeyMaterial: secret.utf8, salt: keyDerivationSalt.utf8, info: keyDerivationInfo.utf8, outputByteCount: keyByteCount)
    }

    public var configuration: SessionConfiguration { base.configuration }
    public var storageNamespace: SessionStorageNamespace? { nil }
    public var commitsWhenHandlerThrows: Bool { base.commitsWhenHandlerThrows }

    nonisolated(nonsending) public func open(cookieValues: [String]) async throws -> Session {
        try await base.open(cookieValues: cookieValues)
    }

    nonisolated(nonsending) public func commit(_ session: Session, cookieValues: [String]) async throws -> [String] {
        try await base.commit(session, cookieValues: cookieValues)
    }
}
