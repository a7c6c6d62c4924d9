/// What a commit writes: the plan, decided under the session's lock from its state and the
/// same for every store, which the commit then carries out with the store's calls.
extension StoreSessionCore {
    /// What a commit writes, decided under the session's lock from its state without copying it.
    enum CommitPlan {
        case nothing
        case delete(key: String?, cookie: String?)
        case merge(Session.State)
        case save(Save)
        case cookie(String)
    }

    struct Save {
        var key: String
        var value: [UInt8]
        /// Saved with a write conditional on ``loadedVersion``.
        var conditional: Bool
        /// Saved only over a live entry (a session loaded from the store under ``key``).
        var onlyIfLive: Bool
        /// The entry that must still be live for the save to happen (the old ID's, after
        /// ``Session/regenerateID()`` of a loaded session).
        var requiresLive: String?
        var loadedVersion: SessionStoreVersion?
        /// Where an immediate store keeps the entry (``StoreTicket/hint``), or -1.
        var hint: Int32
        /// The entry to delete after the save (the old ID after ``Session/regenerateID()``).
        var replacedKey: String?
        /// The change to the bound user's index, when the session was bound or regenerated.
        var index: IndexUpdate?
        var cookie: String
        var now: Double
    }

    /// A change to a user's session index that a save carries.
    final class IndexUpdate: Sendable {
        let user: String
        let change: UserSessionIndex.Change

        init(user: String, change: UserSessionIndex.Change) {
            self.user = user
            self.change = change
        }
    }

    /// - Parameter hadCookie: true when the request carried a cookie of this interface's name.
    func plan(_ s: Session.State, hadCookie: Bool) throws -> CommitPlan {
        let replacedID = s.storedID.flatMap { $0 != s.id ? $0 : nil }
        // The key the session was read under, when this interface loaded it.
        let storedKey = s.storedID == nil ? nil : s.ticket?.key ?? key(for: s.storedID!)
        if s.data.isEmpty {
            guard s.isModified else { return .nothing }
            return .delete(key: storedKey, cookie: hadCookie ? cookie.deletion : nil)
        }
        if s.isModified, versioned != nil, !s.wholeWrite, !s.isNew, s.storedID == s.id {
            return .merge(s)
        }
        if s.isModified {
            let now = clock.now()
            let created = Self.plausibleCreation(s.createdAt, now: now) ? Int(s.createdAt) : Int(now)
            let value: [UInt8]
            // The reserved key is written by the library only.
            if s.mayHoldCreatedKey && s.data[Session.createdKey] != nil {
                var data = s.data
                data.removeValue(forKey: Session.createdKey)
                value = try JSON.encodeStoredSession(data, created: created)
            } else {
                value = try JSON.encodeStoredSession(s.data, created: created)
            }
            // A session read from the store is written back only while its entry lives; a
            // session invalidated during this request is a new one and owes nothing to the old.
            let loaded = storedKey != nil && !s.isInvalidated
            let savedKey = replacedID == nil ? storedKey ?? key(for: s.id) : key(for: s.id)
            var index: IndexUpdate?
            if s.bindingChanged || replacedID != nil, let user = s.data[Session.userKey]?.stringValue {
                let entry = UserSessionIndex.Entry(key: savedKey, created: created, device: s.data[Session.deviceKey]?.stringValue)
                if !s.bindingChanged, loaded, let storedKey {
                    // A bound session regenerated: it moves in the index only if it is still
                    // there (a revocation of its user empties the index first).
                    index = IndexUpdate(user: user, change: .swap(from: storedKey, to: entry))
                } else {
                    index = IndexUpdate(user: user, change: .add(entry, removing: replacedID != nil && loaded ? storedKey : nil))
                }
            }
            return .save(
                Save(
                    key: savedKey, value: value,
                    conditional: conditional != nil && replacedID == nil && loaded,
                    onlyIfLive: replacedID == nil && loaded, requiresLive: replacedID != nil && loaded ? storedKey : nil,
                    loadedVersion: s.ticket?.version,
                    hint: replacedID == nil ? s.ticket?.hint ?? -1 : -1, replacedKey: replacedID == nil ? nil : storedKey,
                    index: index, cookie: cookie.render(value: s.id, now: now), now: now))
        }
        if configuration.rolling && s.isAccessed && !s.isNew && !configuration.sessionCookie {
            return .cookie(cookie.render(value: s.id, now: clock.now()))
        }
        return .nothing
    }

    /// What a commit did: the `Set-Cookie` value to send, if any, and whether the session had
    /// ended meanwhile, so that nothing was written.
    struct Committed {
        var cookie: String?
        var discarded = false

        init(_ cookie: String?) { self.cookie = cookie }
        init(discarded cookie: String) {
            self.cookie = cookie
            self.discarded = true
        }
    }
}
