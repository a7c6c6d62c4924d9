/// The store-backed interface over an ``InMemorySessionStore``: sanic_session's
/// `InMemorySessionInterface`.
///
/// ```swift
/// let interface = try InMemorySessionInterface(configuration: .default)
/// ```
public typealias InMemorySessionInterface = StoreSessionInterface<InMemorySessionStore>

extension StoreSessionInterface where Store == InMemorySessionStore {
    /// Creates an interface with its own in-memory store.
    ///
    /// - Parameters:
    ///   - configuration: the cookie and lifetime options.
    ///   - capacity: the most sessions kept (see ``InMemorySessionStore/init(capacity:maximumBytes:maximumValueBytes:clock:)``).
    ///   - maximumBytes: the most bytes kept (see ``InMemorySessionStore/maximumBytes``).
    ///   - clock: the clock for expiry and cookie dates.
    public init(
        configuration: SessionConfiguration = .default, capacity: Int = 1_000_000,
        maximumBytes: Int = InMemorySessionStore.defaultMaximumBytes, clock: SessionClock = .system
    ) throws {
        try self.init(
            store: InMemorySessionStore(capacity: capacity, maximumBytes: maximumBytes, clock: clock), configuration: configuration,
            clock: clock)
    }
}
