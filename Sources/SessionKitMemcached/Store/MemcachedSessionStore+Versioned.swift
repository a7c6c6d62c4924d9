import SessionKit

/// Conditional saves with memcached's `gets`/`cas`, for the changed-keys save mode.
extension MemcachedSessionStore: VersionedSessionStore {
    public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        guard let (value, token) = try await loadForUpdate(key: key) else { return nil }
        return (value, SessionStoreVersion(token: token))
    }

    public func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        try await save(key: key, value: value, ttl: ttl, ifUnchangedSince: version.token)
    }
}
