extension Session {
    /// The key under which a session keeps the ID of the user it is bound to
    /// (``bindUser(_:device:)``).
    public static let userKey = "_sk_user"
    /// The key under which a session keeps the device label given to ``bindUser(_:device:)``.
    public static let deviceKey = "_sk_device"
    /// The key under which a cookie session keeps the user's revocation token it was bound
    /// with (signed cookies with a revocation store).
    public static let userTokenKey = "_sk_utok"
    /// The key under which a bound cookie session keeps a random nonce that names this one
    /// session, so that its logout can be recorded (signed cookies with a revocation store).
    public static let cookieNonceKey = "_sk_sid"

    /// Binds the session to a user, so that ``SessionMiddleware/revokeAllSessions(ofUser:)``
    /// and ``SessionMiddleware/revokeOtherSessions(ofUser:keeping:)`` can end it, and
    /// ``SessionMiddleware/sessions(ofUser:current:)`` can list it.
    ///
    /// Call it at login, after ``regenerateID()``:
    ///
    /// ```swift
    /// try session.regenerateID()
    /// try session.bindUser(user.id, device: request.userAgent)
    /// ```
    ///
    /// Binding is recorded when the session is saved: the interface adds the session to the
    /// user's index in the store (server-side sessions), or puts the user's revocation token
    /// in the cookie (signed cookies with a revocation store). An anonymous session costs
    /// nothing of the kind.
    ///
    /// - Parameters:
    ///   - userID: the user's stable ID, as the app knows it (any text up to 256 bytes).
    ///   - device: a label for a "your devices" page (a user agent, "iPhone"), or `nil`.
    ///     Stored with the session (its first 256 bytes); never interpreted.
    /// - Throws: ``SessionError`` with code `invalidKey` when `userID` is empty or longer
    ///   than 256 bytes.
    public func bindUser(_ userID: String, device: String? = nil) throws(SessionError) {
        guard !userID.isEmpty, userID.utf8.count <= 256 else {
            throw SessionError(.invalidKey, "a user ID must be 1 to 256 bytes long, and this one is \(userID.utf8.count); bind a shorter stable ID (the database key, not a display name)")
        }
        state.withLock {
            $0.isAccessed = true
            $0.assign(Session.userKey, .string(userID))
            if let device {
                $0.assign(Session.deviceKey, .string(String(decoding: device.utf8.prefix(256), as: UTF8.self)))
            } else {
                $0.assign(Session.deviceKey, nil)
            }
            $0.assign(Session.userTokenKey, nil)
            $0.bindingChanged = true
        }
    }

    /// The ID of the user the session is bound to, or `nil` for an anonymous session.
    public var boundUser: String? {
        state.withLock { $0.data[Session.userKey]?.stringValue }
    }
}
