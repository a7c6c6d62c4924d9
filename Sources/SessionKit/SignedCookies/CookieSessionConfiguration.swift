/// The options of a cookie session interface, named after pyramid's
/// `SignedCookieSessionFactory` and `BaseCookieSessionFactory` parameters.
///
/// | pyramid | here | default |
/// |---|---|---|
/// | `cookie_name` | ``cookieName`` | `"session"` |
/// | `max_age` | ``maxAge`` | `nil` (browser-session cookie) |
/// | `path` | ``path`` | `"/"` |
/// | `domain` | ``domain`` | `nil` |
/// | `secure` | ``secure`` | `false` |
/// | `httponly` | ``httpOnly`` | `true` (pyramid: `False`) |
/// | `samesite` | ``sameSite`` | `.lax` |
/// | `set_on_exception` | ``setOnException`` | `true` |
/// | `timeout` | ``timeout`` | `1200` |
/// | `reissue_time` | ``reissueTime`` | `0` |
/// | (none) | ``absoluteLifetime`` | 7 days (`nil`: pyramid's behaviour) |
/// | (none) | ``revocationStore`` | `nil` |
public struct CookieSessionConfiguration: Sendable {
    /// The cookie's name.
    public var cookieName: String
    /// The cookie's Max-Age in seconds; `nil` makes a browser-session cookie.
    public var maxAge: Int?
    /// The cookie's Path.
    public var path: String
    /// The cookie's Domain; `nil` sends none.
    public var domain: String?
    /// Adds `Secure`.
    public var secure: Bool
    /// Adds `HttpOnly`. SessionKit defaults to `true` where pyramid defaults to `False`: a
    /// session cookie rarely needs to be readable by scripts, and hiding it limits the harm
    /// of a cross-site scripting bug.
    public var httpOnly: Bool
    /// The cookie's SameSite attribute (``SessionConfiguration/SameSite/unspecified`` sends none).
    public var sameSite: SessionConfiguration.SameSite
    /// Adds `Partitioned` (requires ``secure``).
    public var partitioned: Bool
    /// When the handler throws, still send the session's cookie (pyramid's `set_on_exception`).
    /// The middleware then throws a ``SessionHandlerError`` that carries the headers.
    public var setOnException: Bool
    /// Seconds of inactivity after which the session's data is dropped (counted from the
    /// time the cookie was last issued); `nil` for none. Pyramid's `timeout`.
    public var timeout: Int?
    /// Seconds that must pass before reading the session re-issues the cookie; `0`
    /// re-issues on every request that reads it, `nil` never re-issues on reads. Pyramid's
    /// `reissue_time`.
    public var reissueTime: Int?
    /// Seconds after creation when the session ends whatever its activity; `nil` for none.
    /// Pyramid has no such option; the creation time is the `created` field of the cookie.
    ///
    /// Defaults to ``defaultAbsoluteLifetime`` (7 days): a copied cookie that is re-issued on
    /// every use would otherwise live for ever. Pass `nil` for pyramid's behaviour.
    public var absoluteLifetime: Int?
    /// A store in which the interface keeps one revocation token per user, so that
    /// ``SessionMiddleware/revokeAllSessions(ofUser:)`` ends every copy of the cookies of a
    /// user (sessions bound with ``Session/bindUser(_:device:)``); `nil` for none.
    ///
    /// Without it a cookie session cannot be ended on the server: `invalidate()` expires the
    /// browser's copy, and a copied cookie lives until ``timeout`` or ``absoluteLifetime``
    /// ends it. With it, reading a bound session costs one `load` from this store.
    public var revocationStore: (any SessionStore)?
    /// The key prefix of the revocation tokens in ``revocationStore``; the cookie name and a
    /// hash of the user ID follow it.
    public var revocationPrefix: String
    /// The name handlers use to reach this session.
    public var sessionName: String
    /// Called when a request's cookie is rejected (bad signature, malformed, timed out...),
    /// so that an application can log forgeries. Never given the cookie's content.
    public var onRejectedCookie: (@Sendable (CookieRejection) -> Void)?

    /// Creates a configuration; ``CookieSessionInterface`` validates it.
    public init(
        cookieName: String = "session",
        maxAge: Int? = nil,
        path: String = "/",
        domain: String? = nil,
        secure: Bool = false,
        httpOnly: Bool = true,
        sameSite: SessionConfiguration.SameSite = .lax,
        partitioned: Bool = false,
        setOnException: Bool = true,
        timeout: Int? = 1200,
        reissueTime: Int? = 0,
        absoluteLifetime: Int? = CookieSessionConfiguration.defaultAbsoluteLifetime,
        sessionName: String = "session",
        onRejectedCookie: (@Sendable (CookieRejection) -> Void)? = nil,
        revocationStore: (any SessionStore)? = nil,
        revocationPrefix: String = "session-revocation:"
    ) {
        self.cookieName = cookieName
        self.maxAge = maxAge
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
        self.partitioned = partitioned
        self.setOnException = setOnException
        self.timeout = timeout
        self.reissueTime = reissueTime
        self.absoluteLifetime = absoluteLifetime
        self.sessionName = sessionName
        self.onRejectedCookie = onRejectedCookie
        self.revocationStore = revocationStore
        self.revocationPrefix = revocationPrefix
    }

    /// The default ``absoluteLifetime``: 7 days.
    public static let defaultAbsoluteLifetime = 7 * 24 * 3600

    /// The cookie attributes as a ``SessionConfiguration``, validated.
    func sessionConfiguration() throws(SessionError) -> SessionConfiguration {
        if let maxAge, maxAge <= 0 {
            throw SessionError(.invalidConfiguration, "maxAge \(maxAge) must be a positive number of seconds, or nil for a browser-session cookie")
        }
        if let timeout, timeout <= 0 {
            throw SessionError(.invalidConfiguration, "timeout \(timeout) must be a positive number of seconds, or nil for no idle timeout")
        }
        if let reissueTime, reissueTime < 0 {
            throw SessionError(.invalidConfiguration, "reissueTime \(reissueTime) is negative; use 0 to re-issue on every read, or nil to never re-issue on reads")
        }
        if let reissueTime, let timeout, reissueTime >= timeout {
            throw SessionError(.invalidConfiguration, "reissueTime \(reissueTime) is not below timeout \(timeout): the cookie would time out before it is ever re-issued. Use a reissueTime well below timeout (a tenth of it, e.g. 120 for 1200), 0 to re-issue on every read, or nil to never re-issue")
        }
        var configuration = SessionConfiguration.default
        configuration.cookieName = cookieName
        configuration.expiry = maxAge
        configuration.sessionCookie = maxAge == nil
        configuration.path = path
        configuration.domain = domain
        configuration.secure = secure
        configuration.httpOnly = httpOnly
        configuration.sameSite = sameSite
        configuration.partitioned = partitioned
        configuration.absoluteLifetime = absoluteLifetime
        configuration.sessionName = sessionName
        configuration.prefix = ""
        configuration.rolling = false
        try configuration.validate()
        return configuration
    }
}

/// Why a request's session cookie was not used. The cookie's content is never included.
public struct CookieRejection: Sendable, Hashable, CustomStringConvertible {
    /// The kinds of rejection.
    public enum Reason: String, Sendable, Hashable {
        /// Not decodable: bad base64url, non-canonical encoding, too short (for a signature, or
        /// for an encrypted token's nonce and tag).
        case malformed
        /// The signature matches no secret: tampered, truncated, or signed elsewhere.
        case invalidSignature
        /// The payload is not `[accessed, created, {state}]` JSON (signed cookies), or not a
        /// JSON object with an `iat` claim (encrypted cookies).
        case malformedPayload
        /// Encrypted cookies: not a PASETO v4.local token (another version or purpose, or
        /// not a PASETO token at all).
        case unsupportedToken
        /// Encrypted cookies: the token has a footer (SessionKit's tokens have none).
        case unexpectedFooter
        /// Encrypted cookies: the token's authentication tag matches no key: tampered,
        /// truncated, encrypted with another key, or made for another cookie name.
        case decryptionFailed
        /// Encrypted cookies: past the token's `exp` claim.
        case expired
        /// Older than ``CookieSessionConfiguration/timeout`` since it was last issued.
        case timedOut
        /// Older than ``CookieSessionConfiguration/absoluteLifetime`` since creation.
        case lifetimeExceeded
        /// Bound to a user whose sessions were revoked since the cookie was issued
        /// (``CookieSessionConfiguration/revocationStore``).
        case revoked
    }

    /// The kind of rejection.
    public var reason: Reason
    /// A description of the problem, without the cookie's content.
    public var message: String

    public var description: String { "\(reason.rawValue): \(message)" }
}
