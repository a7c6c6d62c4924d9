/// One live session of a user, as ``SessionMiddleware/sessions(ofUser:current:)`` lists it for a
/// "your devices" page.
public struct UserSession: Sendable, Hashable {
    /// A stable handle for the session that reveals nothing of its ID: give it back to
    /// ``SessionMiddleware/revokeSession(ofUser:handle:)`` to end that one session.
    public var handle: String
    /// The ``SessionConfiguration/sessionName`` of the interface that holds it.
    public var sessionName: String
    /// When the session was bound to the user (its creation time for a session bound at
    /// login), in seconds since the Unix epoch.
    public var createdAt: Double
    /// The device label given to ``Session/bindUser(_:device:)``.
    public var device: String?
    /// True for the session of the request that asked (the `current` argument).
    public var isCurrent: Bool

    /// Creates a listing entry; interfaces do.
    public init(handle: String, sessionName: String, createdAt: Double, device: String?, isCurrent: Bool) {
        self.handle = handle
        self.sessionName = sessionName
        self.createdAt = createdAt
        self.device = device
        self.isCurrent = isCurrent
    }
}

/// An interface that can end the sessions bound to a user.
protocol UserSessionRevoking: Sendable {
    /// Ends every session of `user` except `keeping` (the interface's own sessions among
    /// them); returns how many were ended.
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int
    /// The live sessions of `user` this interface holds; `current` marks the caller's.
    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession]
    /// Ends the session of `user` with `handle`, if this interface holds it.
    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool
    /// Whether this interface can list a user's sessions.
    var canListSessions: Bool { get }
}
