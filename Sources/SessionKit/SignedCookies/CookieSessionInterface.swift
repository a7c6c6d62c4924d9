import SessionKitCrypto

/// A session interface that keeps the whole session in the cookie, like pyramid's
/// `BaseCookieSessionFactory`; with a ``SignedSessionSerializer`` it is pyramid's
/// `SignedCookieSessionFactory` (see ``SignedCookieSessionInterface``).
///
/// The cookie holds `serializer.serialize([accessed, created, state])`: `accessed` is when
/// the cookie was last issued (integer Unix seconds), `created` when the session began
/// (float), `state` the session's values. Nothing is stored on the server.
///
/// - Reading: a cookie that does not decode, fails its signature, is not of that shape, is
///   past ``CookieSessionConfiguration/timeout`` or ``CookieSessionConfiguration/absoluteLifetime``
///   gives a fresh empty session, never an error; ``CookieSessionConfiguration/onRejectedCookie``
///   hears why. A cookie signed with an older secret is accepted and re-issued with the current one.
/// - Revocation: with ``CookieSessionConfiguration/revocationStore``, a session bound to a
///   user (``Session/bindUser(_:device:)``) carries the user's revocation token; reading it
///   compares the token with the store's, and ``SessionMiddleware/revokeAllSessions(ofUser:)``
///   replaces the store's, which ends every copy of the cookie (reason `revoked`).
/// - Writing: a modified session is re-issued; a session that was only read is re-issued
///   when ``CookieSessionConfiguration/reissueTime`` has passed since it was last issued; an
///   emptied or invalidated session has its cookie expired. A cookie longer than browsers
///   accept (4096 bytes with its attributes; pyramid's 4064-byte value limit) is refused with
///   a `cookieTooLarge` error before anything is sent.
public struct CookieSessionInterface: SessionInterface {
    /// The options, in pyramid's terms.
    public let options: CookieSessionConfiguration
    /// The cookie attributes, as every interface exposes them.
    public let configuration: SessionConfiguration
    /// The serializer that makes the cookie value.
    public let serializer: any SessionSerializer
    /// The clock used for timestamps and expiry.
    public let clock: SessionClock
    let signed: SignedSessionSerializer?
    let encrypted: EncryptedSessionSerializer?
    let cookie: SetCookieTemplate

    /// The largest cookie value accepted, as pyramid enforces it.
    public static let maximumValueLength = 4064
    /// The largest `Set-Cookie` value (name, value and attributes) browsers accept.
    public static let maximumCookieLength = 4096
    static let maximumCandidates = 4

    /// Creates a cookie session interface.
    ///
    /// - Parameters:
    ///   - serializer: makes the cookie value from the payload. Its output must consist of
    ///     cookie-safe characters (a ``SignedSessionSerializer``'s does).
    ///   - options: pyramid's cookie and lifetime options.
    ///   - clock: the clock for timestamps.
    /// - Throws: ``SessionError`` (`invalidConfiguration`) for invalid options.
    public init(serializer: any SessionSerializer, options: CookieSessionConfiguration = .init(), clock: SessionClock = .system) throws {
        self.configuration = try options.sessionConfiguration()
        self.options = options
        self.serializer = serializer
        self.clock = clock
        self.signed = serializer as? SignedSessionSerializer
        self.encrypted = serializer as? EncryptedSessionSerializer
        self.cookie = SetCookieTemplate(configuration)
    }

    public var storageNamespace: SessionStorageNamespace? { nil }

    public var commitsWhenHandlerThrows: Bool { options.setOnException }

    func reject(_ reason: CookieRejection.Reason, _ message: String) {
        options.onRejectedCookie?(CookieRejection(reason: reason, message: message))
    }

    nonisolated(nonsending) public func open(cookieValues: [String]) async throws -> Session {
        let now = clock.now()
        for value in cookieValues.prefix(Self.maximumCandidates) {
            guard let session = decode(value, now: now) else { continue }
            if options.revocationStore != nil, try await isRevoked(session) { continue }
            return session
        }
        return Session(id: "", isNew: true, createdAt: now, accessedAt: now, clock: clock)
    }

    // MARK: Revocation

    /// The revocation record of `user` in ``CookieSessionConfiguration/revocationStore``.
    func revocationKey(ofUser user: String) -> String {
        options.revocationPrefix + configuration.cookieName + ":" + Base64URL.encode(SHA256.hash(data: user.utf8))
    }

    /// Whether a decoded session is bound to a user whose token changed since it was issued,
    /// or is a session that was logged out.
    nonisolated(nonsending) func isRevoked(_ session: Session) async throws -> Bool {
        guard let store = options.revocationStore else { return false }
        let (user, token, nonce) = session.state.withLock {
            ($0.data[Session.userKey]?.stringValue, $0.data[Session.userTokenKey]?.stringValue, $0.data[Session.cookieNonceKey]?.stringValue)
        }
        guard let user else { return false }
        let record = RevocationRecord(try await store.load(key: revocationKey(ofUser: user)))
        // Constant time: the token is a secret of the server's.
        guard let token, ConstantTime.isEqual(Array(token.utf8), Array(record.token.utf8)) else {
            reject(.revoked, "the session's user had their sessions revoked after this cookie was issued")
            return true
        }
        if let nonce, record.ended.contains(where: { $0.nonce == nonce }) {
            reject(.revoked, "the session was logged out; this is a copy of its cookie")
            return true
        }
        return false
    }

    /// Changes `user`'s revocation record atomically where the store allows it.
    nonisolated(nonsending) func updateRecord(ofUser user: String, in store: any SessionStore, _ change: (inout RevocationRecord) -> Void) async throws {
        try await store.updateEntry(
            key: revocationKey(ofUser: user), ttl: nil, attempts: UserSessionIndex.maximumAttempts,
            exhausted: SessionError(
                .storeFailure, "a user's revocation record changed \(UserSessionIndex.maximumAttempts) times while this request updated it; retry the request")
        ) { bytes in
            var record = RevocationRecord(bytes)
            change(&record)
            return .write(record.encoded(now: clock.now(), lifetime: options.absoluteLifetime), ())
        }
    }

    /// Ends every copy of `user`'s cookies by replacing the user's token; the sessions in
    /// `keeping` bound to `user` get the new token and are re-issued.
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int {
        guard let store = options.revocationStore else { return 0 }
        let token = try SessionID.generate()
        try await updateRecord(ofUser: user, in: store) { record in
            record.token = token
            record.ended = []
        }
        for session in keeping where session.boundUser == user {
            session.state.withLock { $0.assign(Session.userTokenKey, .string(token)) }
        }
        return 1
    }

    /// Decodes one cookie value into a session, or reports why it cannot be used.
    func decode(_ value: String, now: Double) -> Session? {
        var value = value
        let payload: SessionValue
        var rotated = false
        var expires: Double?
        do {
            if let encrypted {
                let opened = value.withUTF8 { text in
                    Result { () throws(EncryptedSessionSerializer.Rejection) in try encrypted.open(UnsafeRawBufferPointer(text)) }
                }
                switch opened {
                case .success(let token):
                    payload = token.value
                    rotated = token.keyIndex > 0
                    expires = token.expires
                case .failure(let rejection):
                    reject(rejection.reason, rejection.message)
                    return nil
                }
            } else if let signed {
                let (inner, index) = try value.withUTF8 { try signed.open(UnsafeRawBufferPointer($0)) }
                rotated = index > 0
                payload = inner
            } else {
                payload = try serializer.deserialize(Array(value.utf8))
            }
        } catch let error as SessionError {
            let reason: CookieRejection.Reason =
                switch error.code {
                case .invalidSignature: .invalidSignature
                case .malformedData where signed != nil && !error.message.hasPrefix("invalid JSON"): .malformed
                default: .malformedPayload
                }
            reject(reason, error.message)
            return nil
        } catch {
            reject(.malformedPayload, "\(error)")
            return nil
        }
        guard case .array(let parts) = payload, parts.count == 3, let accessed = parts[0].doubleValue,
            let created = parts[1].doubleValue, case .object(let state) = parts[2],
            StoreSessionCore.plausibleCreation(accessed, now: now), StoreSessionCore.plausibleCreation(created, now: now),
            created <= accessed + 1
        else {
            reject(.malformedPayload, "the payload is not [accessed, created, {state}] with times between 1970 and now")
            return nil
        }
        if let timeout = options.timeout, now - accessed > Double(timeout) {
            reject(.timedOut, "last issued \(Int(now - accessed)) s ago, over the \(timeout) s timeout")
            return nil
        }
        if let limit = options.absoluteLifetime, now - created >= Double(limit) {
            reject(.lifetimeExceeded, "created \(Int(now - created)) s ago, over the \(limit) s absolute lifetime")
            return nil
        }
        if let expires, now > expires {
            reject(.expired, "the token expired \(Int(now - expires)) s ago (its exp claim)")
            return nil
        }
        let session = Session(id: "", data: state, isNew: false, createdAt: created, accessedAt: now, clock: clock)
        session.state.withLock {
            $0.renewedAt = accessed
            $0.needsReissue = rotated
        }
        return session
    }

    nonisolated(nonsending) public func commit(_ session: Session, cookieValues: [String]) async throws -> [String] {
        let s = session.state.withLock { $0 }
        let now = clock.now()
        if let (user, nonce) = s.endedBinding, let nonce, let store = options.revocationStore {
            // A bound session logged out: every copy of its cookie ends with it.
            try await updateRecord(ofUser: user, in: store) { $0.ended.append((nonce, now)) }
        }
        if s.data.isEmpty {
            let ended = s.isModified || s.isInvalidated
            return ended && !cookieValues.isEmpty ? [cookie.deletion] : []
        }
        var reissue = s.isModified || s.needsReissue
        if !reissue, s.isAccessed, !s.isNew, let reissueTime = options.reissueTime {
            reissue = now - s.renewedAt > Double(reissueTime)
        }
        guard reissue else { return [] }
        if s.isModified, !s.bindingChanged, !s.isNew, options.revocationStore != nil, s.data[Session.userKey] != nil, try await isRevoked(session) {
            // Revoked or logged out while this request held it: not re-issued.
            session.state.withLock { $0.changesDiscarded = true }
            return cookieValues.isEmpty ? [] : [cookie.deletion]
        }
        var data = s.data
        if s.bindingChanged, let store = options.revocationStore, let user = data[Session.userKey]?.stringValue {
            // Bound in this request: the cookie carries the user's token as it is now, and a
            // nonce that names this session for its logout.
            let token = RevocationRecord(try await store.load(key: revocationKey(ofUser: user))).token
            let nonce = try SessionID.generate()
            data[Session.userTokenKey] = .string(token)
            data[Session.cookieNonceKey] = .string(nonce)
            session.state.withLock {
                $0.data[Session.userTokenKey] = .string(token)
                $0.data[Session.cookieNonceKey] = .string(nonce)
            }
        }
        return [try render(data: data, created: s.createdAt, accessed: Int(now), now: now)]
    }

    /// The `Set-Cookie` value carrying `data`.
    func render(data: [String: SessionValue], created: Double, accessed: Int, now: Double) throws -> String {
        let payload: SessionValue = .array([.int(accessed), .double(created), .object(data)])
        let bytes = try serializer.serialize(payload)
        guard bytes.allSatisfy(Self.isCookieOctet) else {
            throw SessionError(
                .encodingFailed,
                "the serializer's output contains characters that are not allowed in a cookie; use a SignedSessionSerializer or another serializer that produces cookie-safe text")
        }
        guard bytes.count <= Self.maximumValueLength else {
            throw SessionError(
                .cookieTooLarge,
                "the session cookie would be \(bytes.count) bytes, over the \(Self.maximumValueLength)-byte limit; store less in the session or use a server-side store")
        }
        let header = cookie.render(value: String(decoding: bytes, as: UTF8.self), now: now)
        guard header.utf8.count <= Self.maximumCookieLength else {
            throw SessionError(
                .cookieTooLarge,
                "the session cookie with its attributes would be \(header.utf8.count) bytes, over the browsers' \(Self.maximumCookieLength)-byte limit; store less in the session or use a server-side store")
        }
        return header
    }

    /// RFC 6265 cookie-octet.
    static func isCookieOctet(_ c: UInt8) -> Bool {
        c == 0x21 || (0x23...0x2B).contains(c) || (0x2D...0x3A).contains(c) || (0x3C...0x5B).contains(c)
            || (0x5D...0x7E).contains(c)
    }
}

/// Pyramid's `SignedCookieSessionFactory` for SessionKit: the session lives in a cookie
/// signed with HMAC (SHA-512 by default), readable and writable by a Pyramid application
/// configured with the same secret and salt.
///
/// ```swift
/// let interface = try SignedCookieSessionInterface(
///     secrets: [ProcessInfo.processInfo.environment["SESSION_SECRET"]!],
///     options: CookieSessionConfiguration(secure: true, timeout: 1200, reissueTime: 120))
/// ```
public struct SignedCookieSessionInterface: SessionInterface {
    /// The underlying cookie session interface.
    public let base: CookieSessionInterface

    /// Creates a signed cookie session interface.
    ///
    /// - Parameters:
    ///   - secrets: the first signs, all verify (rotate by putting a new secret first).
    ///   - salt: pyramid's `salt`, default `"pyramid.session."`.
    ///   - hashAlgorithm: pyramid's `hashalg`, default `.sha512`.
    ///   - serializer: the payload serializer, default ``JSONSessionSerializer`` (pyramid's `JSONSerializer`).
    ///   - options: pyramid's cookie and lifetime options.
    ///   - clock: the clock for timestamps.
    ///   - allowShortSecrets: accept secrets shorter than
    ///     ``SignedSessionSerializer/minimumSecretLength`` (32) bytes, to keep an existing Pyramid
    ///     application's secret. New secrets should be long and random.
    /// - Throws: ``SessionError`` (`invalidConfiguration`) for a missing, empty or short secret
    ///   and for invalid options.
    public init(
        secrets: [String], salt: String = "pyramid.session.",
        hashAlgorithm: SignedSessionSerializer.HashAlgorithm = .sha512,
        serializer: any SessionSerializer = JSONSessionSerializer(),
        options: CookieSessionConfiguration = .init(), clock: SessionClock = .system,
        allowShortSecrets: Bool = false
    ) throws {
        let signed = try SignedSessionSerializer(
            secrets: secrets, salt: salt, hashAlgorithm: hashAlgorithm, serializer: serializer,
            allowShortSecrets: allowShortSecrets)
        base = try CookieSessionInterface(serializer: signed, options: options, clock: clock)
    }

    /// Creates a signed cookie session interface with one secret.
    ///
    /// - Parameters:
    ///   - secret: the signing secret, at least 32 bytes unless `allowShortSecrets` is `true`.
    ///   - salt: pyramid's `salt`, default `"pyramid.session."`.
    ///   - hashAlgorithm: pyramid's `hashalg`, default `.sha512`.
    ///   - options: pyramid's cookie and lifetime options.
    ///   - clock: the clock for timestamps.
    ///   - allowShortSecrets: accept a secret shorter than 32 bytes (an existing Pyramid secret).
    public init(
        secret: String, salt: String = "pyramid.session.",
        hashAlgorithm: SignedSessionSerializer.HashAlgorithm = .sha512,
        options: CookieSessionConfiguration = .init(), clock: SessionClock = .system,
        allowShortSecrets: Bool = false
    ) throws {
        try self.init(
            secrets: [secret], salt: salt, hashAlgorithm: hashAlgorithm, options: options, clock: clock,
            allowShortSecrets: allowShortSecrets)
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
