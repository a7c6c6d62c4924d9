import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// The two network stores. The tests of this target are written once and run against both
/// (`arguments: NetworkStore.allCases`); each store is reached through the small adapter below:
/// its server, a client (usually through a ``FaultProxy``), a session store, and a soak target.
enum NetworkStore: String, CaseIterable, Sendable, CustomTestStringConvertible, CustomStringConvertible {
    case redis
    case memcached

    /// How the store appears in test names: `noLeak(store: Redis, seed: 1)`.
    var testDescription: String {
        switch self {
        case .redis: "Redis"
        case .memcached: "memcached"
        }
    }

    var description: String { testDescription }

    /// The store for ``ChaosSoak`` and ``LogoutSoak``, which start their own server.
    var soakKind: ChaosSoak.StoreKind {
        switch self {
        case .redis: .redis
        case .memcached: .memcached
        }
    }

    /// Whether an acknowledged write survives a `kill -9` of the server: the chaos soak runs
    /// Redis with `appendfsync always`; memcached is a cache and forgets everything.
    var keepsWritesAcrossRestarts: Bool { self == .redis }

    /// The seed of the short chaos soak (each store keeps the schedule it has always run).
    var soakSeed: UInt64 {
        switch self {
        case .redis: 7
        case .memcached: 11
        }
    }

    // MARK: Servers

    /// The server shared by this target's tests that need no special configuration.
    func sharedServer() async throws -> any StoreServer {
        switch self {
        case .redis: try await SharedServers.redis.value
        case .memcached: try await SharedServers.memcached.value
        }
    }

    /// A server of the test's own, for tests that stop and restart it.
    func startServer() async throws -> any StoreServer {
        switch self {
        case .redis: try await RedisServer.start()
        case .memcached: try await MemcachedServer.start()
        }
    }

    // MARK: Clients

    /// A client of the server at `127.0.0.1:port` (a ``FaultProxy``'s port, or a server's), with
    /// test-friendly deadlines (20 s unless `commandTimeout` is given; tests never assert on
    /// timing, only on outcomes) and fast reconnects.
    ///
    /// - Parameters:
    ///   - connections: the connections the client opens (Redis `connectionCount`, memcached
    ///     `connectionsPerServer`); each store's default when `nil`.
    ///   - faults: faults injected into the engine (``ConnectionFaults/freedSlots``: the 2023
    ///     redis-py bug), to show that a test catches them.
    func client(port: Int, connections: Int? = nil, commandTimeout: Duration = .seconds(20), faults: ConnectionFaults = .none) throws -> any StoreClient {
        switch self {
        case .redis:
            let configuration = try redisConfiguration(port: port, connections: connections, commandTimeout: commandTimeout)
            return RedisStoreClient(client: try RedisClient(configuration: configuration, group: .shared(count: configuration.eventLoopCount), faults: faults))
        case .memcached:
            let configuration = try memcachedConfiguration(port: port, connections: connections, commandTimeout: commandTimeout)
            return MemcachedStoreClient(client: try MemcachedClient(configuration: configuration, group: .shared(count: configuration.eventLoopCount), faults: faults))
        }
    }

    /// The store's session store over a client of `127.0.0.1:port` (see ``client(port:connections:commandTimeout:faults:)``).
    func sessionStore(port: Int, connections: Int? = nil, commandTimeout: Duration = .seconds(20)) throws -> StoreUnderTest {
        switch self {
        case .redis:
            let store = try RedisSessionStore(configuration: redisConfiguration(port: port, connections: connections, commandTimeout: commandTimeout))
            return StoreUnderTest(store: store, close: { store.client.close() })
        case .memcached:
            let store = try MemcachedSessionStore(configuration: memcachedConfiguration(port: port, connections: connections, commandTimeout: commandTimeout))
            return StoreUnderTest(store: store, close: { store.client.close() })
        }
    }

    private func redisConfiguration(port: Int, connections: Int?, commandTimeout: Duration) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = commandTimeout
        configuration.reconnectDelay = .milliseconds(10)
        configuration.maxReconnectDelay = .milliseconds(100)
        if let connections { configuration.connectionCount = connections }
        return configuration
    }

    private func memcachedConfiguration(port: Int, connections: Int?, commandTimeout: Duration) throws -> MemcachedConfiguration {
        var configuration = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = commandTimeout
        configuration.reconnectDelay = .milliseconds(10)
        configuration.maxReconnectDelay = .milliseconds(100)
        configuration.deadServerRetryInterval = .milliseconds(300)
        if let connections { configuration.connectionsPerServer = connections }
        return configuration
    }

    // MARK: Soak targets

    /// The sessions a soak target keeps.
    enum Sessions: Sendable {
        /// The store's own interface (whole-session saves, conditional on the version read).
        case storeInterface
        /// The control of the logout soak: the store behind ``PlainSaveStore`` (plain writes),
        /// which brings ended sessions back.
        case plainSaves
        /// The control of the chaos soak: the store behind ``BrokenSessionStore``.
        case broken(SessionStoreFlaw)
    }

    /// A middleware over a client of `127.0.0.1:port` (the soak's fault proxy) with `timeout`
    /// as its connect and command timeouts.
    func soakTarget(port: Int, timeout: Duration, fastReconnect: Bool = true, sessions: Sessions) throws -> ChaosSoak.Target {
        switch self {
        case .redis:
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = timeout
            redis.commandTimeout = timeout
            if fastReconnect {
                redis.reconnectDelay = .milliseconds(10)
                redis.maxReconnectDelay = .milliseconds(200)
            }
            let store = RedisSessionStore(client: try RedisClient(configuration: redis))
            return ChaosSoak.Target(middleware: try SessionMiddleware(Self.interface(store, sessions)), close: { store.client.close() })
        case .memcached:
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = timeout
            memcached.commandTimeout = timeout
            if fastReconnect {
                memcached.reconnectDelay = .milliseconds(10)
                memcached.maxReconnectDelay = .milliseconds(200)
            }
            let store = MemcachedSessionStore(client: try MemcachedClient(configuration: memcached))
            return ChaosSoak.Target(middleware: try SessionMiddleware(Self.interface(store, sessions)), close: { store.client.close() })
        }
    }

    private static func interface<Store: VersionedSessionStore>(_ store: Store, _ sessions: Sessions) throws -> any SessionInterface {
        switch sessions {
        case .storeInterface: try StoreSessionInterface(store: store)
        case .plainSaves: try StoreSessionInterface(store: PlainSaveStore(store))
        case .broken(let flaw): try StoreSessionInterface(store: BrokenSessionStore(store, flaw: flaw))
        }
    }
}

/// A session store under test, and how to close its client.
struct StoreUnderTest: Sendable {
    let store: any VersionedSessionStore
    let close: @Sendable () -> Void

    /// A middleware over the store's own interface.
    func middleware(_ configuration: SessionConfiguration) throws -> SessionMiddleware {
        try SessionMiddleware(Self.interface(store, configuration))
    }

    private static func interface<Store: VersionedSessionStore>(_ store: Store, _ configuration: SessionConfiguration) throws -> any SessionInterface {
        try StoreSessionInterface(store: store, configuration: configuration)
    }
}

/// A server the tests talk to: redis-server or memcached.
protocol StoreServer: Sendable {
    var port: Int { get }
    func stop()
    func restart() async throws
}

extension RedisServer: StoreServer {}
extension MemcachedServer: StoreServer {}

/// The few operations the tests make on a store's client, the same over both protocols.
protocol StoreClient: Sendable {
    /// One attempt: a lost connection is an error (Redis `GET` sent as not idempotent,
    /// memcached `get` through `send`).
    func getOnce(_ key: String) async throws -> [UInt8]?
    /// What the session stores do: sent once more on a fresh connection when the connection
    /// was lost.
    func get(_ key: String) async throws -> [UInt8]?
    /// Stores `value` under `key` for `ttl` seconds (retried like ``get(_:)``).
    func set(_ key: String, _ value: [UInt8], ttl: Int) async throws
    func delete(_ key: String) async throws
    /// A round trip that touches no key (Redis `PING`, memcached `version`).
    func ping() async throws
    func close()
}

struct RedisStoreClient: StoreClient {
    let client: RedisClient

    func getOnce(_ key: String) async throws -> [UInt8]? {
        try await client.send(["GET", RedisArgument(key)], idempotent: false).bytes
    }

    func get(_ key: String) async throws -> [UInt8]? {
        try await client.send(["GET", RedisArgument(key)], idempotent: true).bytes
    }

    func set(_ key: String, _ value: [UInt8], ttl: Int) async throws {
        let reply = try await client.send(["SET", RedisArgument(key), RedisArgument(value), "EX", RedisArgument(ttl)], idempotent: true)
        guard reply == .simpleString("OK") else { throw FixtureError("SET \(key): \(reply)") }
    }

    func delete(_ key: String) async throws {
        _ = try await client.send(["DEL", RedisArgument(key)], idempotent: true)
    }

    func ping() async throws {
        let reply = try await client.send(["PING"], idempotent: true)
        guard reply == .simpleString("PONG") else { throw FixtureError("PING: \(reply)") }
    }

    func close() { client.close() }
}

struct MemcachedStoreClient: StoreClient {
    let client: MemcachedClient

    func getOnce(_ key: String) async throws -> [UInt8]? {
        let reply = try await client.send(.get(keys: [key]))
        guard case .values(let items) = reply else { throw FixtureError("get \(key): \(reply)") }
        return items.first?.value
    }

    func get(_ key: String) async throws -> [UInt8]? {
        try await client.get(key)?.value
    }

    func set(_ key: String, _ value: [UInt8], ttl: Int) async throws {
        try await client.set(key, value: value, ttl: ttl)
    }

    func delete(_ key: String) async throws {
        _ = try await client.delete(key)
    }

    func ping() async throws {
        _ = try await client.version()
    }

    func close() { client.close() }
}

/// One server per store shared by this target's tests.
private enum SharedServers {
    static let redis = Task { try await RedisServer.start() }
    static let memcached = Task { try await MemcachedServer.start() }
}

extension Trait where Self == ConditionTrait {
    /// Runs only when redis-server is installed, or under CI=true (where its absence fails).
    static var needsRedis: ConditionTrait {
        .enabled(if: RedisServer.shouldRun, "redis-server is not installed (apt-get install -y redis-server); set CI=true to make this a failure")
    }

    /// Runs only when memcached is installed, or under CI=true (where its absence fails).
    static var needsMemcached: ConditionTrait {
        .enabled(if: MemcachedServer.shouldRun, "memcached is not installed (apt-get install -y memcached); set CI=true to make this a failure")
    }
}

/// A seeded, repeatable random number generator for tests (the leak storm's cancellation plan).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
