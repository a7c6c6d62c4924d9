import SessionKit

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
    ///   - url: `redis://[user[:password]@]host[:port][/db]` or `unix:///path?db=N`.
    ///   - configuration: the cookie and lifetime options.
    ///   - clock: the clock for creation times and cookie dates.
    /// - Throws: ``SessionError`` for an invalid URL or configuration.
    public init(url: String, configuration: SessionConfiguration = .default, clock: SessionClock = .system) throws {
        try self.init(store: RedisSessionStore(url: url), configuration: configuration, clock: clock)
    }
}
