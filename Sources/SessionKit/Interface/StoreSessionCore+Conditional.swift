/// The commits over a store that saves conditionally (``VersionedSessionStore``): a whole
/// session saved against the version it was loaded at, and the changed-keys merge.
extension StoreSessionCore {
    /// Saves a loaded session whole with a write conditional on the version it was loaded at,
    /// so that if the store's client gives up on it (a timeout) and the server executes it
    /// later, it finds another version and changes nothing instead of overwriting a newer
    /// acknowledged save.
    ///
    /// When the condition fails, another request saved the session since it was loaded, or
    /// the session ended: this save then follows with a write that only replaces a live
    /// entry, so the later save still wins, as whole-session saves promise, and an ended
    /// session stays ended, at the cost of one round trip and without retry loops under
    /// contention. (That follow-up write is the one write not protected against arriving
    /// late; arriving late, it still cannot bring an ended session back.)
    ///
    /// - Returns: `false`, writing nothing, when the session has no live entry any more.
    nonisolated(nonsending) func replace(
        key: String, value: [UInt8], loadedVersion: SessionStoreVersion?, in store: any VersionedSessionStore
    ) async throws -> Bool {
        var version = loadedVersion
        if version == nil {
            guard let current = try await store.loadVersioned(key: key) else { return false }
            version = current.version
        }
        if let version, try await store.save(key: key, value: value, ttl: storeTTL, ifVersion: version) { return true }
        // Changed or gone since it was read (another request's save, expiry, eviction, a
        // logout elsewhere): replaced if it lives, as a whole-session save of it would.
        return try await store.replace(key: key, value: value, ttl: storeTTL)
    }

    /// Applies the request's changes to the stored session with conditional saves, so that a
    /// concurrent request's changes to other keys are kept.
    nonisolated(nonsending) func merge(
        _ s: Session.State, of session: Session, into store: any VersionedSessionStore
    ) async throws -> Committed {
        let key = key(for: s.id)
        // The bytes read when the session was opened serve for the first attempt when the
        // store can version them; a conflict then costs one more read.
        var known = s.ticket?.loadedBytes.flatMap { bytes in (s.ticket?.version ?? store.version(ofLoaded: bytes)).map { (bytes, $0) } }
        for _ in 0..<Self.maximumMergeAttempts {
            let current: ([UInt8], SessionStoreVersion)?
            if let first = known {
                current = first
                known = nil
            } else {
                current = try await store.loadVersioned(key: key)
            }
            guard let (bytes, version) = current else {
                // Deleted meanwhile (a logout in another request): never bring it back.
                return discard(session)
            }
            let decoded = (try? JSON.decodeStoredSession(bytes)) ?? nil
            var data = decoded?.data ?? [:]
            let stored = decoded?.created?.doubleValue
            for (name, change) in s.changes where name != Session.createdKey {
                switch change {
                case .set(let value): data[name] = value
                case .removed: data.removeValue(forKey: name)
                }
            }
            if data.isEmpty {
                try await store.delete(key: key)
                return Committed(cookie.deletion)
            }
            let created = stored.flatMap { Self.plausibleCreation($0, now: clock.now()) ? Int($0) : nil } ?? Int(s.createdAt)
            let value = try JSON.encodeStoredSession(data, created: created)
            if try await store.save(key: key, value: value, ttl: storeTTL, ifVersion: version) {
                return Committed(cookie.render(value: s.id, now: clock.now()))
            }
        }
        throw SessionError(
            .storeFailure,
            "the session changed \(Self.maximumMergeAttempts) times while this request merged its changes; the changes were not saved, retry the request")
    }
}
