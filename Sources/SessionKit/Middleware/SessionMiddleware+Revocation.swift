/// Ending a user's sessions everywhere: on every interface of the middleware that can.
///
/// Server-side interfaces find a user's sessions through an index they keep in their store
/// (written when a session bound with ``Session/bindUser(_:device:)`` is saved); signed
/// cookie interfaces with a revocation store (``CookieSessionConfiguration/revocationStore``)
/// change the user's revocation token, which every copy of the cookie must match.
extension SessionMiddleware {
    /// Ends every session bound to `user`, on every interface ("log out everywhere", an admin
    /// kicking a user).
    ///
    /// - Parameter user: the user's ID, as given to ``Session/bindUser(_:device:)``.
    /// - Returns: how many sessions were ended (signed cookies count as one per interface:
    ///   their copies cannot be counted).
    @discardableResult
    nonisolated(nonsending) public func revokeAllSessions(ofUser user: String) async throws -> Int {
        var ended = 0
        for entry in entries {
            if let revoking = entry.interface as? any UserSessionRevoking {
                ended += try await revoking.revokeSessions(ofUser: user, keeping: [])
            }
        }
        return ended
    }

    /// Ends every session bound to `user` except those of the current request ("sign out
    /// everywhere else").
    ///
    /// - Parameters:
    ///   - user: the user's ID, as given to ``Session/bindUser(_:device:)``.
    ///   - context: the current request's context; its sessions (on every interface) are kept.
    /// - Returns: how many sessions were ended.
    @discardableResult
    nonisolated(nonsending) public func revokeOtherSessions(ofUser user: String, keeping context: SessionContext) async throws -> Int {
        var ended = 0
        for (index, entry) in entries.enumerated() {
            if let revoking = entry.interface as? any UserSessionRevoking {
                ended += try await revoking.revokeSessions(ofUser: user, keeping: context.openedSession(at: index).map { [$0] } ?? [])
            }
        }
        return ended
    }

    /// The live sessions bound to `user` on the interfaces that can list them (in-memory,
    /// filesystem, Redis, memcached), for a "your devices" page. Signed cookies cannot be
    /// listed.
    ///
    /// - Parameters:
    ///   - user: the user's ID, as given to ``Session/bindUser(_:device:)``.
    ///   - context: the current request's context, whose sessions are marked
    ///     ``UserSession/isCurrent``; `nil` marks none.
    nonisolated(nonsending) public func sessions(ofUser user: String, current context: SessionContext? = nil) async throws -> [UserSession] {
        var all: [UserSession] = []
        for (index, entry) in entries.enumerated() {
            if let revoking = entry.interface as? any UserSessionRevoking, revoking.canListSessions {
                let current = context?.openedSession(at: index).map { [$0] } ?? []
                all += try await revoking.sessions(ofUser: user, current: current)
            }
        }
        return all.sorted { $0.createdAt < $1.createdAt }
    }

    /// Ends the one session of `user` that ``sessions(ofUser:current:)`` listed with `handle`
    /// ("log out this device").
    ///
    /// - Parameters:
    ///   - user: the user's ID, as given to ``Session/bindUser(_:device:)``.
    ///   - handle: the ``UserSession/handle`` of the session to end.
    /// - Returns: `false` when no such session is known (already ended, or another user's).
    @discardableResult
    nonisolated(nonsending) public func revokeSession(ofUser user: String, handle: String) async throws -> Bool {
        for entry in entries {
            if let revoking = entry.interface as? any UserSessionRevoking, revoking.canListSessions,
                try await revoking.revokeSession(ofUser: user, handle: handle)
            {
                return true
            }
        }
        return false
    }
}

extension SessionContext {
    /// The session this request has opened on the interface at `index`, if any.
    func openedSession(at index: Int) -> Session? {
        states.withLock { states in
            if case .loaded(let session, _) = states[index] { return session }
            return nil
        }
    }
}
