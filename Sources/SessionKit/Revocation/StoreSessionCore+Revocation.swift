/// User-wide revocation for server-side sessions: the user's index names the store keys of
/// their sessions; revoking deletes those entries, then takes them out of the index. A
/// session being saved by a request in flight is never written back (saves of loaded
/// sessions only replace live entries), and a bound session regenerated meanwhile moves in
/// the index only if it is still there.
extension StoreSessionCore {
    /// The store keys a kept session may be found under (its ID, and the ID it was loaded
    /// under when it was regenerated during the request).
    func keys(of sessions: [Session]) -> Set<String> {
        var keys: Set<String> = []
        for session in sessions {
            let (id, stored) = session.state.withLock { ($0.id, $0.storedID) }
            keys.insert(key(for: id))
            if let stored { keys.insert(key(for: stored)) }
        }
        return keys
    }

    /// How many rounds a revocation makes at most: each ends what the index lists, then reads
    /// it again for sessions that were added or moved meanwhile.
    static let maximumRevocationRounds = 8

    /// Ends the sessions of `user`'s index except `keeping`: each session is deleted before it
    /// leaves the index, so that a revocation that fails half-way (the store down) leaves the
    /// rest listed for the next one; and the index is read again until it lists nothing more
    /// to end (a login or a regeneration that landed meanwhile).
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int {
        let kept = keys(of: keeping)
        var ended: Set<String> = []
        for _ in 0..<Self.maximumRevocationRounds {
            let doomed = try await users.entries(ofUser: user).filter { !kept.contains($0.key) }
            if doomed.isEmpty { return ended.count }
            for entry in doomed {
                try await store.delete(key: entry.key)
                ended.insert(entry.key)
            }
            _ = try await users.update(user: user, .remove(Set(doomed.map(\.key))))
        }
        throw SessionError(
            .storeFailure,
            "the user's sessions kept changing during \(Self.maximumRevocationRounds) rounds of revocation (\(ended.count) ended); revoke again")
    }

    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession] {
        let currentKeys = keys(of: current)
        var live: [UserSession] = []
        var dead: Set<String> = []
        for entry in try await users.entries(ofUser: user) {
            // Expired, evicted or logged out since: dropped from the index below.
            guard try await store.load(key: entry.key) != nil else {
                dead.insert(entry.key)
                continue
            }
            live.append(
                UserSession(
                    handle: UserSessionIndex.handle(ofKey: entry.key), sessionName: configuration.sessionName,
                    createdAt: Double(entry.created), device: entry.device, isCurrent: currentKeys.contains(entry.key)))
        }
        if !dead.isEmpty { _ = try await users.update(user: user, .remove(dead)) }
        return live
    }

    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool {
        guard let entry = try await users.entries(ofUser: user).first(where: { UserSessionIndex.handle(ofKey: $0.key) == handle }) else {
            return false
        }
        _ = try await users.update(user: user, .remove([entry.key]))
        try await store.delete(key: entry.key)
        return true
    }
}

extension StoreSessionInterface: UserSessionRevoking {
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int {
        try await core.revokeSessions(ofUser: user, keeping: keeping)
    }

    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession] {
        try await core.sessions(ofUser: user, current: current)
    }

    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool {
        try await core.revokeSession(ofUser: user, handle: handle)
    }

    var canListSessions: Bool { true }
}

extension CookieSessionInterface: UserSessionRevoking {
    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession] { [] }
    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool { false }
    var canListSessions: Bool { false }
}

extension SignedCookieSessionInterface: UserSessionRevoking {
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int {
        try await base.revokeSessions(ofUser: user, keeping: keeping)
    }
    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession] { [] }
    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool { false }
    var canListSessions: Bool { false }
}

extension EncryptedCookieSessionInterface: UserSessionRevoking {
    nonisolated(nonsending) func revokeSessions(ofUser user: String, keeping: [Session]) async throws -> Int {
        try await base.revokeSessions(ofUser: user, keeping: keeping)
    }
    nonisolated(nonsending) func sessions(ofUser user: String, current: [Session]) async throws -> [UserSession] { [] }
    nonisolated(nonsending) func revokeSession(ofUser user: String, handle: String) async throws -> Bool { false }
    var canListSessions: Bool { false }
}
