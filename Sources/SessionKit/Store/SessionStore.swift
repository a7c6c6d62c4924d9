/// A place where server-side sessions live: bytes by key, with an optional time to live.
///
/// Stores know nothing of cookies or of the session's format; a ``StoreSessionInterface``
/// gives them keys (`prefix + sessionID`) and values (the session's data as a UTF-8 JSON
/// object, sanic_session's layout).
///
/// Every implementation must honour this contract, which the conformance suite in
/// `SessionKitTestSupport` checks:
/// - ``load(key:)`` returns exactly the bytes of the last successful ``save(key:value:ttl:)``,
///   or `nil` when the key was never saved, was deleted, or has outlived its time to live.
///   An expired entry is never returned.
/// - ``save(key:value:ttl:)`` replaces the value and its time to live as one step;
///   `ttl == nil` means the entry does not expire.
/// - ``touch(key:ttl:)`` sets a new time to live without changing the value and reports
///   whether the key existed.
/// - ``delete(key:)`` removes the entry; deleting a missing key is not an error.
/// - ``replace(key:value:ttl:)`` saves only over a live entry, in one step: an entry that was
///   deleted, has expired or was evicted is never written back.
/// - Failures (server down, disk full, value too large) throw a ``SessionError``; a failed
///   save leaves the previous value in place.
/// - All methods may be called concurrently from many tasks.
///
/// Stores are reference types: the middleware tells two stores apart by identity when it
/// checks that two interfaces do not share a key prefix on the same store.
public protocol SessionStore: AnyObject, Sendable {
    /// Returns the stored bytes for `key`, or `nil` when there is no live entry.
    nonisolated(nonsending) func load(key: String) async throws -> [UInt8]?

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// - Parameters:
    ///   - key: the entry's key (`prefix + sessionID` when an interface calls it).
    ///   - value: the bytes to store.
    ///   - ttl: seconds until the entry expires, or `nil` for an entry that never
    ///     expires. Always at least 1 when not `nil`.
    nonisolated(nonsending) func save(key: String, value: [UInt8], ttl: Int?) async throws

    /// Removes the entry for `key`, if any.
    nonisolated(nonsending) func delete(key: String) async throws

    /// Sets a new time to live on an existing entry without changing its value.
    ///
    /// - Returns: `true` when the entry existed and was refreshed.
    nonisolated(nonsending) func touch(key: String, ttl: Int?) async throws -> Bool

    /// Returns the stored bytes for `key` and sets the entry's time to live to `ttl` in one
    /// step where the backend can (Redis `GETEX`, memcached `gat`); used by rolling sessions.
    ///
    /// The default implementation calls ``load(key:)`` and then ``touch(key:ttl:)``.
    nonisolated(nonsending) func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]?

    /// Replaces the value of a live entry, and writes nothing when there is none.
    ///
    /// Interfaces save every session they loaded with it, so that a session ended while a
    /// request held it (deleted by a logout in another request, revoked, expired, evicted)
    /// is never written back by that request.
    ///
    /// The default implementation checks with ``load(key:)`` and then saves: that is not one
    /// step, and a delete landing between the two is undone. A store should implement it
    /// atomically, as every store of SessionKit does (Redis `SET ... XX`, memcached
    /// `replace`, the filesystem store under the key's lock, the in-memory store under its
    /// shard's lock).
    ///
    /// - Parameters:
    ///   - key: the entry's key.
    ///   - value: the bytes to store.
    ///   - ttl: seconds until the entry expires, or `nil` for an entry that never expires.
    /// - Returns: `false`, writing nothing, when `key` has no live entry.
    nonisolated(nonsending) func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool

    /// Saves `value` only when `key` has no live entry, in one step.
    ///
    /// User-wide revocation creates a user's session index with it, so that two logins at
    /// once cannot each write an index that loses the other's session.
    ///
    /// The default implementation checks with ``load(key:)`` and then saves, which is not one
    /// step. Every store of SessionKit implements it atomically (Redis `SET ... NX`,
    /// memcached `add`, the filesystem store under the key's lock, the in-memory store under
    /// its shard's lock).
    ///
    /// - Returns: `false`, writing nothing, when `key` has a live entry.
    nonisolated(nonsending) func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool
}

extension SessionStore {
    nonisolated(nonsending) public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        guard let value = try await load(key: key) else { return nil }
        _ = try await touch(key: key, ttl: ttl)
        return value
    }

    nonisolated(nonsending) public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        guard try await load(key: key) != nil else { return false }
        try await save(key: key, value: value, ttl: ttl)
        return true
    }

    nonisolated(nonsending) public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        guard try await load(key: key) == nil else { return false }
        try await save(key: key, value: value, ttl: ttl)
        return true
    }
}
