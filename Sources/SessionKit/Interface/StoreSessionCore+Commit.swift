/// Carrying out a commit's plan: with asynchronous calls for any store, with synchronous ones
/// for a store that completes its operations without suspending. Both follow the same plan
/// and the same ``SaveFollowUp``; only the calls differ.
extension StoreSessionCore {
    /// Saves, deletes or refreshes `session` and says which `Set-Cookie` value to send, if any.
    nonisolated(nonsending) func commit(_ session: Session, cookieValues: [String]) async throws -> Committed {
        if commitsImmediately { return try commitNow(session, hadCookie: !cookieValues.isEmpty) }
        switch try session.state.withLock({ try plan($0, hadCookie: !cookieValues.isEmpty) }) {
        case .nothing:
            return Committed(nil)
        case .delete(let key, let cookie):
            if let key { try await store.delete(key: key) }
            return Committed(cookie)
        case .merge(let state):
            return try await merge(state, of: session, into: versioned!)
        case .save(let save):
            guard try await write(save) else { return discard(session) }
            var followUp = SaveFollowUp(save)
            if let update = save.index {
                do {
                    followUp.indexed(try await users.update(user: update.user, update.change), save: save)
                } catch {
                    // Not indexed, it could not be revoked: it is not kept either.
                    try? await store.delete(key: save.key)
                    throw error
                }
            }
            for key in followUp.deletions { try await store.delete(key: key) }
            return followUp.discarded ? discard(session) : Committed(save.cookie)
        case .cookie(let cookie):
            return Committed(cookie)
        }
    }

    /// ``commit(_:cookieValues:)`` without suspending; only when ``commitsImmediately``.
    ///
    /// - Parameter hadCookie: true when the request carried a cookie of this interface's name.
    func commitNow(_ session: Session, hadCookie: Bool) throws -> Committed {
        guard let store = immediate else { preconditionFailure("commitNow needs a store that completes its operations without suspending") }
        switch try session.state.withLock({ try plan($0, hadCookie: hadCookie) }) {
        case .nothing:
            return Committed(nil)
        case .delete(let key, let cookie):
            if let key { store.deleteNow(key: key) }
            return Committed(cookie)
        case .merge:
            preconditionFailure("changed-keys saves are never committed immediately")
        case .save(let save):
            guard try write(save, to: store) else { return discard(session) }
            var followUp = SaveFollowUp(save)
            if let update = save.index {
                followUp.indexed(users.updateNow(user: update.user, update.change, store: store), save: save)
            }
            for key in followUp.deletions { store.deleteNow(key: key) }
            return followUp.discarded ? discard(session) : Committed(save.cookie)
        case .cookie(let cookie):
            return Committed(cookie)
        }
    }

    /// What follows a save that was written: the entries to delete, in order, and whether
    /// the session turned out to have ended after all.
    struct SaveFollowUp {
        var deletions: [String]
        var discarded = false

        /// Without an index change: only the entry under the old ID, after ``Session/regenerateID()``.
        init(_ save: Save) {
            deletions = save.replacedKey.map { [$0] } ?? []
        }

        /// After the bound user's index was changed: the sessions it evicted for room end; and
        /// when the change was refused, the user's sessions were revoked while this request
        /// held this one, so what was just saved is deleted again.
        mutating func indexed(_ outcome: UserSessionIndex.Outcome, save: Save) {
            if outcome.applied {
                deletions = outcome.evicted.map(\.key) + deletions
            } else {
                deletions = [save.key] + deletions
                discarded = true
            }
        }
    }

    /// Writes a planned save.
    ///
    /// - Returns: `false`, writing nothing, when the session had ended meanwhile.
    nonisolated(nonsending) private func write(_ save: Save) async throws -> Bool {
        if let immediate { return try write(save, to: immediate) }
        if let required = save.requiresLive {
            // Regenerated: only while the old entry lives (the linearisation point of the ID
            // change); a refreshed TTL on an entry about to be deleted is harmless.
            guard try await store.touch(key: required, ttl: storeTTL) else { return false }
        }
        // Save under the new ID before deleting the old entry: if the save fails, the user
        // keeps the session they had.
        if save.conditional, let conditional {
            return try await replace(key: save.key, value: save.value, loadedVersion: save.loadedVersion, in: conditional)
        }
        if save.onlyIfLive { return try await store.replace(key: save.key, value: save.value, ttl: storeTTL) }
        try await store.save(key: save.key, value: save.value, ttl: storeTTL)
        return true
    }

    /// ``write(_:)`` to a store that completes its operations without suspending.
    private func write(_ save: Save, to store: any ImmediateSessionStore) throws(SessionError) -> Bool {
        let now = time(save.now, of: store)
        if let required = save.requiresLive {
            var hint: Int32 = -1
            guard store.loadNow(key: required, touchTTL: nil, hint: &hint, now: now) != nil else { return false }
        }
        if save.onlyIfLive {
            return try store.replaceNow(key: save.key, value: save.value, ttl: storeTTL, hint: save.hint, now: now)
        }
        try store.saveNow(key: save.key, value: save.value, ttl: storeTTL, hint: save.hint, now: now)
        return true
    }

    /// What a commit of a session that ended while this request held it does: nothing is
    /// written, the session records it, and the cookie is expired.
    func discard(_ session: Session) -> Committed {
        session.state.withLock { $0.changesDiscarded = true }
        return Committed(discarded: cookie.deletion)
    }
}
