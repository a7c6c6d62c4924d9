/// The cookie and lifetime options of a session interface.
///
/// The names follow sanic_session's options in Swift casing (`cookie_name` is ``cookieName``,
/// `sessioncookie` is ``sessionCookie``), with the same defaults, plus ``path``,
/// ``partitioned``, ``absoluteLifetime``, ``rolling`` and ``adoptUnknownIDs``.
///
/// The initializer validates the options; interfaces validate again, so a value changed
/// after construction is checked too. A configuration that browsers would reject, or that
/// cannot work, is a thrown ``SessionError`` whose message names the option and the fix.
///
/// ```swift
/// // sanic_session's Example 2
/// let config = try SessionConfiguration(
///     domain: ".example.com", expiry: 3600, httpOnly: true,
///     cookieName: "myapp", prefix: "session:", sessionCookie: true)
/// ```
public struct SessionConfiguration: Sendable, Hashable {
    /// The `SameSite` attribute of the cookie.
    public enum SameSite: String, Sendable, Hashable, CaseIterable {
        /// Sent only with same-site requests.
        case strict = "Strict"
        /// Sent with same-site requests and top-level navigations from other sites.
        case lax = "Lax"
        /// Sent with every request; requires ``SessionConfiguration/secure``.
        case none = "None"
        /// No `SameSite` attribute is sent (sanic_session's default); browsers then apply
        /// their own default, Lax in most of them.
        case unspecified = ""
    }

    /// How a modified session is written to its store.
    public enum SaveMode: String, Sendable, Hashable, CaseIterable {
        /// The whole session is written (sanic_session's behaviour). When two requests of one
        /// user overlap, the later save replaces the earlier one's changes.
        case wholeSession
        /// Only the keys the request set or removed are merged into the stored session, with
        /// a conditional save that retries on conflict: overlapping requests that change
        /// different keys both keep their changes; on the same key the last writer wins.
        /// Needs a ``VersionedSessionStore``.
        case changedKeys
    }

    /// The longest `expiry` or `absoluteLifetime` accepted: ten years, in seconds.
    public static let maximumDuration = 10 * 365 * 24 * 3600

    /// The longest lifetime browsers give a cookie (400 days); longer Max-Age values are capped.
    public static let maximumCookieLifetime = 400 * 24 * 3600

    /// The cookie's `Domain` attribute; `nil` sends none (host-only cookie). Default `nil`.
    public var domain: String?
    /// Seconds of inactivity after which the stored session expires (default 2592000,
    /// 30 days). `nil` or `0` makes the session permanent: stored without expiry, with a
    /// cookie that lasts 400 days and is refreshed.
    public var expiry: Int?
    /// Adds `HttpOnly`, hiding the cookie from JavaScript. Default `true`.
    public var httpOnly: Bool
    /// The cookie's name. Default `"session"`.
    public var cookieName: String
    /// Stored sessions live under `prefix + sessionID`. Default `"session:"`.
    public var prefix: String
    /// When `true`, the cookie has no `Max-Age`/`Expires` and dies with the browser session;
    /// ``expiry`` still applies in the store. Default `false`.
    public var sessionCookie: Bool
    /// The cookie's `SameSite` attribute. Default ``SameSite/lax``; ``SameSite/unspecified``
    /// sends none, as sanic_session does by default.
    public var sameSite: SameSite
    /// The name handlers use to reach this session (``SessionContext/session(_:)``).
    /// Default `"session"`.
    public var sessionName: String
    /// Adds `Secure`: the cookie is sent over HTTPS only. Default `false`.
    public var secure: Bool
    /// The cookie's `Path` attribute. Default `"/"`.
    public var path: String
    /// Adds `Partitioned` (CHIPS), keying the cookie to the top-level site; requires
    /// ``secure``. Default `false`.
    public var partitioned: Bool
    /// Seconds after creation when a session ends whatever its activity; `nil` (default)
    /// for no absolute limit. Counted from ``Session/createdAt``.
    public var absoluteLifetime: Int?
    /// When `true` (default), a session that was only read has its stored expiry and its
    /// cookie refreshed (sliding expiry, like sanic_session); nothing is written.
    public var rolling: Bool
    /// When `true`, a well-formed session ID that the store does not know is adopted for the
    /// new session instead of being replaced by a fresh one. Default `false`: adopting
    /// unknown IDs lets an attacker choose a victim's session ID (session fixation).
    public var adoptUnknownIDs: Bool
    /// When `true`, server-side stores keep sessions under `prefix + base64url(SHA-256(id))`
    /// instead of `prefix + id`, so a leaked copy of the store (a backup, a `KEYS *`) holds no
    /// usable session IDs. Default `false` (sanic_session's layout, which Python services
    /// sharing the store expect).
    public var hashIDsAtRest: Bool
    /// How modified sessions are written: ``SaveMode/wholeSession`` (default) or
    /// ``SaveMode/changedKeys``, which keeps the changes of overlapping requests.
    public var saveMode: SaveMode

    /// Creates and validates a configuration.
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` naming the option and the fix.
    public init(
        domain: String? = nil,
        expiry: Int? = 2_592_000,
        httpOnly: Bool = true,
        cookieName: String = "session",
        prefix: String = "session:",
        sessionCookie: Bool = false,
        sameSite: SameSite = .lax,
        sessionName: String = "session",
        secure: Bool = false,
        path: String = "/",
        partitioned: Bool = false,
        absoluteLifetime: Int? = nil,
        rolling: Bool = true,
        adoptUnknownIDs: Bool = false,
        hashIDsAtRest: Bool = false,
        saveMode: SaveMode = .wholeSession
    ) throws {
        self.domain = domain
        self.expiry = expiry
        self.httpOnly = httpOnly
        self.cookieName = cookieName
        self.prefix = prefix
        self.sessionCookie = sessionCookie
        self.sameSite = sameSite
        self.sessionName = sessionName
        self.secure = secure
        self.path = path
        self.partitioned = partitioned
        self.absoluteLifetime = absoluteLifetime
        self.rolling = rolling
        self.adoptUnknownIDs = adoptUnknownIDs
        self.hashIDsAtRest = hashIDsAtRest
        self.saveMode = saveMode
        try validate()
    }

    /// This configuration with its cookie locked to the host that set it: `secure`, and the
    /// cookie name given the `__Host-` prefix (`"session"` becomes `"__Host-session"`).
    ///
    /// Browsers accept a `__Host-` cookie only from HTTPS, with `Path=/` and no `Domain`, so
    /// a sibling subdomain (`evil.example.com` next to `app.example.com`) can neither set nor
    /// overwrite it: no duplicate session cookie can be tossed in beside yours. Recommended
    /// for every HTTPS deployment that does not share its cookie with a Python service under
    /// sanic_session's plain name.
    ///
    /// ```swift
    /// let configuration = try SessionConfiguration(expiry: 3600).hostLocked()
    /// ```
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` when ``domain`` is set or
    ///   ``path`` is not `"/"` (a `__Host-` cookie cannot have either).
    public func hostLocked() throws(SessionError) -> SessionConfiguration {
        if let domain {
            throw SessionError(
                .invalidConfiguration,
                "hostLocked() makes a __Host- cookie, which browsers accept only without Domain, and domain is \"\(domain)\"; set domain: nil (the cookie then goes to this host only) or keep the plain name")
        }
        guard path == "/" else {
            throw SessionError(
                .invalidConfiguration,
                "hostLocked() makes a __Host- cookie, which browsers accept only with Path=/, and path is \"\(path)\"; set path: \"/\" or keep the plain name")
        }
        var copy = self
        copy.secure = true
        if !cookieName.lowercased().hasPrefix("__host-") {
            copy.cookieName = "__Host-" + (cookieName.lowercased().hasPrefix("__secure-") ? String(cookieName.dropFirst(9)) : cookieName)
        }
        try copy.validate()
        return copy
    }

    /// The defaults of every option (sanic_session's, with `SameSite=Lax`).
    public static let `default`: SessionConfiguration = {
        do { return try SessionConfiguration() } catch { preconditionFailure("the default configuration is valid: \(error)") }
    }()

    /// True when sessions never expire in the store (``expiry`` is `nil` or `0`).
    public var isPermanent: Bool { expiry == nil || expiry == 0 }

    /// The store time to live in seconds, or `nil` for a permanent session.
    public var storeTTL: Int? { isPermanent ? nil : expiry }

    /// The cookie's Max-Age in seconds, or `nil` for a browser-session cookie.
    public var cookieMaxAge: Int? {
        if sessionCookie { return nil }
        guard let expiry, expiry > 0 else { return Self.maximumCookieLifetime }
        return min(expiry, Self.maximumCookieLifetime)
    }

    /// Checks the options and throws an error that names the fix for the first problem found.
    public func validate() throws(SessionError) {
        func invalid(_ message: String) -> SessionError { SessionError(.invalidConfiguration, message) }

        if cookieName.isEmpty || !cookieName.utf8.allSatisfy(Self.isTokenCharacter) {
            throw invalid(
                "cookieName \"\(cookieName)\" is not a valid cookie name (RFC 6265 token: letters, digits and !#$%&'*+-.^_`|~ only, no spaces, '=', ';' or quotes); choose a name such as \"session\"")
        }
        let lowerName = cookieName.lowercased()
        if lowerName.hasPrefix("__secure-") && !secure {
            throw invalid("cookieName \"\(cookieName)\" starts with __Secure-, which browsers accept only with Secure; set secure: true or rename the cookie")
        }
        if lowerName.hasPrefix("__host-") {
            if !secure {
                throw invalid("cookieName \"\(cookieName)\" starts with __Host-, which browsers accept only with Secure; set secure: true or rename the cookie")
            }
            if domain != nil {
                throw invalid("cookieName \"\(cookieName)\" starts with __Host-, which browsers accept only without Domain; set domain: nil or rename the cookie")
            }
            if path != "/" {
                throw invalid("cookieName \"\(cookieName)\" starts with __Host-, which browsers accept only with Path=/; set path: \"/\" or rename the cookie")
            }
        }
        if sameSite == .none && !secure {
            throw invalid("sameSite .none requires secure: true (browsers reject SameSite=None cookies without Secure); set secure: true or use .lax")
        }
        if partitioned && !secure {
            throw invalid("partitioned: true requires secure: true (browsers reject Partitioned cookies without Secure); set secure: true")
        }
        if let expiry, expiry < 0 {
            throw invalid("expiry \(expiry) is negative; use a number of seconds, or 0 or nil for a permanent session")
        }
        if let expiry, expiry > Self.maximumDuration {
            throw invalid("expiry \(expiry) is over ten years (\(Self.maximumDuration) s); use 0 or nil for a permanent session")
        }
        if let absoluteLifetime, absoluteLifetime <= 0 || absoluteLifetime > Self.maximumDuration {
            throw invalid("absoluteLifetime \(absoluteLifetime) must be a positive number of seconds up to ten years, or nil for no absolute limit")
        }
        if prefix.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            throw invalid("prefix \"\(prefix.debugDescription)\" contains spaces or control characters, which stores such as memcached reject in keys; use something like \"session:\"")
        }
        if prefix.utf8.count > 128 {
            throw invalid("prefix is \(prefix.utf8.count) bytes long; keep it under 128 bytes so keys fit every store (memcached allows 250)")
        }
        if sessionName.isEmpty {
            throw invalid("sessionName is empty; give each interface a name such as \"session\"")
        }
        if let domain {
            if domain.isEmpty || !domain.utf8.allSatisfy(Self.isAttributeCharacter) || domain.utf8.contains(UInt8(ascii: " ")) {
                throw invalid("domain \"\(domain.debugDescription)\" is not a valid cookie domain (no spaces, ';', ',' or control characters); use a host name such as \".example.com\" or nil")
            }
        }
        if !path.hasPrefix("/") || !path.utf8.allSatisfy(Self.isAttributeCharacter) {
            throw invalid("path \"\(path.debugDescription)\" must start with '/' and contain no ';', ',' or control characters; use \"/\" for the whole site")
        }
    }

    /// RFC 9110 token characters (RFC 6265 cookie-name).
    static func isTokenCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Characters allowed in Domain and Path attribute values.
    static func isAttributeCharacter(_ c: UInt8) -> Bool {
        c > 0x20 && c < 0x7F && c != UInt8(ascii: ";") && c != UInt8(ascii: ",")
    }
}
