import SessionKit
import SessionKitNetworking

/// A `SessionStore` on memcached, in sanic_session's layout: each session is one item,
/// key `prefix + sessionID`, value the session's JSON bytes, flags 0, the session's lifetime
/// as the item's `exptime`.
///
/// - ``save(key:value:ttl:)``: `set key 0 <exptime>`; permanent sessions (`ttl == nil`) get
///   exptime 0 and never expire; TTLs over 30 days are sent as absolute Unix times.
/// - ``load(key:)``: `get`; ``delete(key:)``: `delete`.
/// - ``touch(key:ttl:)``: `touch`; ``loadAndTouch(key:ttl:)``: `gat` (one round trip).
/// - ``loadForUpdate(key:)`` / ``save(key:value:ttl:ifUnchangedSince:)``: `gets` / `cas`, for
///   optimistic concurrency.
///
/// Keys are validated and values checked against the item size before anything is sent: an
/// oversized value throws `valueTooLarge` and the stored session stays as it was (memcached
/// itself would delete it).
///
/// With ``MemcachedConfiguration/ejectsDeadServers`` and several servers, a miss on a key's
/// server also deletes the key on its fallback server (see ``MemcachedClient/delete(_:)``), as
/// ``delete(key:)`` does: a session written there during an outage, and lost when its own
/// server came back (flushed), must not come back the next time that server is off the ring.
///
/// memcached counts time in whole seconds, so an item with a relative exptime of `n` expires
/// between `n - 1` and `n` seconds after it was written (at once, for `n == 1`). The store sends
/// `ttl + 1`: an entry lives at least its TTL, and at most one second longer.
///
/// ```swift
/// let store = try MemcachedSessionStore(url: "memcached://cache1:11211,cache2:11211")
/// ```
public final class MemcachedSessionStore: SessionStore {
    /// The client the store sends its commands through.
    public let client: MemcachedClient

    /// Creates a store on an existing client (which may be shared with other code).
    public init(client: MemcachedClient) {
        self.client = client
    }

    /// Creates a store and its client from a server list (see ``MemcachedConfiguration/init(url:tls:)``).
    ///
    /// - Parameters:
    ///   - url: the server list; `memcached+tls://` needs `tls`.
    ///   - tls: the TLS settings for a `memcached+tls://` list (SessionKitTLS's `TLSConfiguration`).
    public convenience init(url: String, tls: (any TransportSecurity)? = nil) throws {
        try self.init(client: MemcachedClient(url: url, tls: tls))
    }

    /// Creates a store and its client from a configuration.
    public convenience init(configuration: MemcachedConfiguration) throws {
        try self.init(client: MemcachedClient(configuration: configuration))
    }

    public func load(key: String) async throws -> [UInt8]? {
        try await missCleaned(key, client.get(key)?.value)
    }

    /// `value`, after deleting `key` on its fallback server when `value` is a miss.
    func missCleaned<Value>(_ key: String, _ value: Value?) async throws -> Value? {
        if value == nil { try await client.deleteOnFallback(key) }
        return value
    }

    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        if let ttl, ttl <= 0 {
            // Already expired: the entry must not outlive its TTL.
            try await client.delete(key)
            return
        }
        try await client.set(key, value: value, flags: 0, ttl: Self.serverTTL(ttl))
    }

    /// The TTL sent to memcached for a session TTL: one second more, see the type's notes.
    static func serverTTL(_ ttl: Int?) -> Int? {
        ttl.map { $0 < Int.max ? $0 + 1 : $0 }
    }

    /// `replace`: saves only over a live item, so a session deleted or expired meanwhile is
    /// never written back.
    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        if let ttl, ttl <= 0 {
            // Already expired: what is left to do is ending the live item, if any.
            return try await client.delete(key)
        }
        return try await client.replace(key, value: value, flags: 0, ttl: Self.serverTTL(ttl))
    }

    /// `add`: saves only when the key holds no item.
    public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try await client.add(key, value: value, flags: 0, ttl: Self.serverTTL(ttl.map { max($0, 1) }))
    }

    public func delete(key: String) async throws {
        try await client.delete(key)
    }

    public func touch(key: String, ttl: Int?) async throws -> Bool {
        if let ttl, ttl <= 0 {
            return try await client.delete(key)
        }
        return try await client.touch(key, ttl: Self.serverTTL(ttl))
    }

    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        if ttl <= 0 {
            guard let value = try await missCleaned(key, client.get(key)?.value) else { return nil }
            try await client.delete(key)
            return value
        }
        return try await missCleaned(key, client.getAndTouch(key, ttl: Self.serverTTL(ttl))?.value)
    }

    /// Loads a session with the CAS token that ``save(key:value:ttl:ifUnchangedSince:)`` needs.
    ///
    /// - Returns: the value and its token, or `nil` when there is no entry.
    public func loadForUpdate(key: String) async throws -> (value: [UInt8], token: UInt64)? {
        guard let item = try await missCleaned(key, client.gets(key)), let cas = item.cas else { return nil }
        return (item.value, cas)
    }

    /// Saves only if the entry is unchanged since ``loadForUpdate(key:)`` returned `token`.
    ///
    /// - Returns: `true` when saved; `false` when another writer changed or deleted the entry
    ///   in between (reload, merge, try again).
    public func save(key: String, value: [UInt8], ttl: Int?, ifUnchangedSince token: UInt64) async throws -> Bool {
        try await client.compareAndSwap(key, value: value, flags: 0, ttl: Self.serverTTL(ttl.map { max($0, 1) }), cas: token) == .stored
    }
}
