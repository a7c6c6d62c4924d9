import SessionKit
import SessionKitNetworking

/// The store-backed session interface over Redis: sanic_session's `RedisSessionInterface`.
///
/// ```swift
/// let sessions = try SessionMiddleware(RedisSessionInterface(url: "redis://localhost:6379/0"))
/// ```
public typealias RedisSessionInterface = StoreSessionInterface<RedisSessionStore>

extension StoreSessionInterface where Store == RedisSessionStore {
    /// Creates an interface with its own ``RedisSessionStore`` on the server at `url`.
    ///
    /// - Parameters:
    ///   - url: `redis://[user[:password]@]host[:port][/db]`, `unix:///path?db=N`,
    ///     `redis+cluster://host1:port1,host2:port2` (Redis Cluster) or
    ///     `redis+sentinel://sentinel1:26379,sentinel2:26379/mymaster[/db]` (Redis Sentinel);
    ///     `rediss://` and `rediss+…://` for TLS, with `tls`.
    ///   - tls: the TLS settings for a `rediss://` URL (SessionKitTLS's `TLSConfiguration`).
    ///   - configuration: the cookie and lifetime options.
    ///   - clock: the clock for creation times and cookie dates.
    /// - Throws: `SessionError` for an invalid URL or configuration.
    public init(url: String, tls: (any TransportSecurity)? = nil, configuration: SessionConfiguration = .default,
                clock: SessionClock = .system) throws {
        try self.init(store: RedisSessionStore(url: url, tls: tls), configuration: configuration, clock: clock)
    }
}
