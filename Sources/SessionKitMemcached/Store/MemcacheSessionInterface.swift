import SessionKit
import SessionKitNetworking

/// The store-backed session interface over memcached: sanic_session's `MemcacheSessionInterface`.
///
/// ```swift
/// let sessions = try SessionMiddleware(MemcacheSessionInterface(url: "memcached://127.0.0.1:11211"))
/// ```
public typealias MemcacheSessionInterface = StoreSessionInterface<MemcachedSessionStore>

extension StoreSessionInterface where Store == MemcachedSessionStore {
    /// Creates an interface with its own ``MemcachedSessionStore`` on the servers at `url`.
    ///
    /// - Parameters:
    ///   - url: `memcached://host:port[,host:port...]`, `unix:///path/to.sock`, or
    ///     `memcached+tls://host:port[,host:port...]` for TLS, with `tls`.
    ///   - tls: the TLS settings for a `memcached+tls://` list (SessionKitTLS's `TLSConfiguration`).
    ///   - configuration: the cookie and lifetime options.
    ///   - clock: the clock for creation times and cookie dates.
    /// - Throws: `SessionError` for an invalid server list or configuration.
    public init(url: String, tls: (any TransportSecurity)? = nil, configuration: SessionConfiguration = .default,
                clock: SessionClock = .system) throws {
        try self.init(store: MemcachedSessionStore(url: url, tls: tls), configuration: configuration, clock: clock)
    }
}
