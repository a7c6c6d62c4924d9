import SessionKit

/// Conditional saves with memcached's `gets`/`gats` and `cas`: for the changed-keys save mode,
/// and for every save of a loaded session (``savesWholeSessionsConditionally``).
extension MemcachedSessionStore: VersionedSessionStore {
    public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        guard let (value, token) = try await loadForUpdate(key: key) else { return nil }
        return (value, SessionStoreVersion(token: token))
    }

    public func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        try await save(key: key, value: value, ttl: ttl, ifUnchangedSince: version.token)
    }

    /// `gets`, or `gats` when `touchTTL` is given: the CAS token comes with the value.
    ///
    /// - Parameters:
    ///   - key: the session's key.
    ///   - touchTTL: when given, the item's TTL is refreshed to it (`gats`).
    /// - Returns: the value and its CAS token; `nil` when there is no item.
    public func loadForUpdate(key: String, touchTTL: Int?) async throws -> (value: [UInt8], version: SessionStoreVersion?)? {
        let item: MemcachedItem?
        if let touchTTL {
            if touchTTL <= 0 {
                // Already expired: read once and delete, as loadAndTouch does.
                return try await loadAndTouch(key: key, ttl: touchTTL).map { ($0, nil) }
            }
            item = try await missCleaned(key, client.getsAndTouch(key, ttl: Self.serverTTL(touchTTL)))
        } else {
            item = try await missCleaned(key, client.gets(key))
        }
        guard let item else { return nil }
        // A reply without a token still carries the session; the save then reads it again.
        return (item.value, item.cas.map { SessionStoreVersion(token: $0) })
    }

    /// `true`: a `set` abandoned after a timeout can still be executed by the server after a
    /// newer one (for instance on another connection, once a stalled server resumes), so a
    /// loaded session is saved with `cas` against the token it was read with.
    public var savesWholeSessionsConditionally: Bool { true }
}
