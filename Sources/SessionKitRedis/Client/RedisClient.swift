import SessionKit
@_spi(Engine) import SessionKitNetworking
import Synchronization

/// A Redis client that multiplexes many concurrent commands over a few connections.
///
/// Commands issued at the same time go out in one write (auto-pipelining) and replies are
/// matched in order. Every command has a deadline (``RedisConfiguration/commandTimeout``).
/// A cancelled command returns at once with `CancellationError`, while its reply is still read
/// and dropped. Commands that would suppress, add or re-scope replies on the shared connections
/// (pub/sub, `MONITOR`, `CLIENT REPLY`, `MULTI`, `SELECT`, blocking commands...) are refused by
/// ``send(_:idempotent:)`` before anything is written, so a reply cannot reach the wrong caller
/// through the public API. A lost connection is re-established
/// on demand with jittered exponential backoff; while the server stays unreachable, calls fail at
/// once with `storeUnavailable` instead of queueing.
///
/// ```swift
/// let redis = try RedisClient(url: "redis://localhost:6379/0")
/// try await redis.send("SET", "greeting", "hello", "EX", 60)
/// let reply = try await redis.send("GET", "greeting")   // .bulkString("hello")
/// ```
///
/// Error replies are thrown as `SessionError`: `authenticationFailed` for `NOAUTH`/`WRONGPASS`/
/// `NOPERM`, `storeUnavailable` once `LOADING`/`TRYAGAIN`/`READONLY` retries are exhausted,
/// `serverError` for the rest.
///
/// The same type talks to a Redis Cluster or to a primary found through Sentinel, chosen by
/// ``RedisConfiguration/topology`` (or the URL's scheme):
///
/// ```swift
/// let cluster = try RedisClient(url: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379")
/// let sentinel = try RedisClient(url: "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster")
/// ```
///
/// In a Cluster, each command goes to the primary owning its key's slot (the key is the first
/// argument, or the first key of `EVAL`/`EVALSHA`/`FCALL`; keyless commands go to any primary),
/// over per-node multiplexed connections; `MOVED` and `ASK` are followed, `TRYAGAIN` and
/// `CLUSTERDOWN` retried with backoff, and the slot map refreshed when nodes change. Through
/// Sentinel, every (re)connect asks the Sentinels for the primary and checks its `ROLE`; when the
/// primary changes, every connection moves to the new one.
public final class RedisClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisConfiguration
    /// The event loops the connections are spread over.
    let group: EventLoopGroup
    let counters: ClientCounters
    private let slots: [ConnectionSlot<RedisConnector>]
    private let cluster: ClusterRouter?
    private let sentinel: SentinelLocator?
    private let nextSlot = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    /// Which commands ``send(_:idempotent:)`` refuses (always ``RedisCommandPolicy/sharedConnection``
    /// outside tests).
    let commandPolicy: RedisCommandPolicy

    /// Creates a client. No connection is made until the first command.
    ///
    /// - Throws: `SessionError` `.invalidConfiguration` when a setting is out of range.
    public convenience init(configuration: RedisConfiguration) throws {
        try self.init(configuration: configuration, group: .shared(count: configuration.eventLoopCount))
    }

    /// Creates a client from a URL (see ``RedisConfiguration/init(url:tls:)``).
    ///
    /// - Parameters:
    ///   - url: the URL; `rediss://` needs `tls`.
    ///   - tls: the TLS settings for a `rediss://` URL (SessionKitTLS's `TLSConfiguration`).
    public convenience init(url: String, tls: (any TransportSecurity)? = nil) throws {
        try self.init(configuration: RedisConfiguration(url: url, tls: tls))
    }

    /// - Parameters:
    ///   - group: the event loops the connections are spread over.
    ///   - faults: test-only: faults injected into the engine (``ConnectionFaults/freedSlots``
    ///     reproduces the 2023 redis-py bug), so that tests can prove they catch them.
    ///   - commandPolicy: test-only: ``RedisCommandPolicy/unrestricted`` lets `send` write the
    ///     commands it refuses, so that tests can show what they do to other callers.
    init(configuration: RedisConfiguration, group: EventLoopGroup, faults: ConnectionFaults = .none, counters: ClientCounters = ClientCounters(),
         commandPolicy: RedisCommandPolicy = .sharedConnection) throws {
        guard configuration.connectionCount >= 1 && configuration.connectionCount <= 64 else {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.connectionCount is \(configuration.connectionCount); use 1...64 (2 is plenty: connections are multiplexed)")
        }
        guard (1...EventLoopGroup.maximumCount).contains(configuration.eventLoopCount) else {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.eventLoopCount is \(configuration.eventLoopCount); use 1...\(EventLoopGroup.maximumCount) (one I/O thread per core at most)")
        }
        guard configuration.commandTimeout > .zero, configuration.connectTimeout > .zero else {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.commandTimeout and connectTimeout must be positive")
        }
        guard configuration.database >= 0 else {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.database is \(configuration.database); use a database number >= 0")
        }
        guard configuration.maxPendingCommandsPerConnection >= 1, configuration.maxRetries >= 0 else {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.maxPendingCommandsPerConnection must be at least 1 and maxRetries at least 0")
        }
        self.configuration = configuration
        self.group = group
        self.counters = counters
        self.commandPolicy = commandPolicy
        switch configuration.topology {
        case .standalone:
            self.cluster = nil
            self.sentinel = nil
        case .cluster(let seeds):
            guard !seeds.isEmpty else {
                throw SessionError(.invalidConfiguration, "RedisConfiguration.topology is .cluster with no seed nodes; list at least one node of the cluster")
            }
            guard configuration.database == 0 else {
                throw SessionError(.invalidConfiguration, "RedisConfiguration.database is \(configuration.database), but Redis Cluster has only database 0; use 0 and separate applications by key prefix")
            }
            guard configuration.maxRedirections >= 1 else {
                throw SessionError(.invalidConfiguration, "RedisConfiguration.maxRedirections is \(configuration.maxRedirections); use at least 1 (5 is usual)")
            }
            self.cluster = ClusterRouter(configuration: configuration, seeds: seeds, group: group, counters: counters)
            self.sentinel = nil
            self.slots = []
            return
        case .sentinel(let name, let sentinels):
            guard !sentinels.isEmpty, !name.isEmpty else {
                throw SessionError(.invalidConfiguration, "RedisConfiguration.topology is .sentinel without Sentinels or without a primary name; list the Sentinels and the name they monitor (sentinel monitor <name> ...)")
            }
            self.cluster = nil
            self.sentinel = SentinelLocator(configuration: configuration, masterName: name, sentinels: sentinels, group: group, counters: counters)
        }
        let health = ServerHealth(backoff: Backoff(initial: configuration.reconnectDelay, maximum: configuration.maxReconnectDelay))
        let connector = RedisConnector(configuration: configuration, locator: self.sentinel, transport: try Self.transport(for: configuration),
                                       faults: faults)
        let label = ServerLabel.redis(at: sentinel == nil ? "\(configuration.address)" : "the primary found through Sentinel")
        self.slots = (0..<configuration.connectionCount).map { index in
            ConnectionSlot(factory: connector, loop: group.loop(for: index), label: label, health: health)
        }
        if let sentinel {
            let slots = self.slots
            sentinel.onPrimaryChange { primary in
                // The backoff was about the old primary: connect to the new one at once.
                health.recordSuccess()
                let reason = NetworkError(.connectionClosed, "the Redis primary moved to \(primary) (Sentinel failover); the client reconnects to it")
                for slot in slots { slot.closeConnection(unlessAt: "\(primary)", reason: reason) }
            }
        }
    }

    /// The TLS transport of `configuration`, set up once for every connection of the client.
    static func transport(for configuration: RedisConfiguration) throws -> (any TransportFactory)? {
        guard let tls = configuration.tls else { return nil }
        do {
            return try tls.prepare().factory
        } catch {
            throw SessionError(.invalidConfiguration, "RedisConfiguration.tls cannot be used: \(error)")
        }
    }

    deinit {
        for slot in slots { slot.shutDown() }
        cluster?.close()
        sentinel?.close()
    }

    /// What the client did to follow a Cluster or Sentinel deployment (redirections, retries,
    /// topology refreshes, primary changes), counted since it was created.
    public var statistics: Statistics { counters.snapshot }

    /// The Redis Cluster hash slot (0...16383) of `key`: CRC16-XMODEM of the key, or of its hash
    /// tag (the text between the first `{` and the next `}`, when not empty), modulo 16384.
    public static func hashSlot(of key: String) -> Int {
        HashSlot.slot(of: Array(key.utf8))
    }

    /// Sends a command and returns its reply.
    ///
    /// The client's connections are shared by every caller and replies are matched in order,
    /// so commands that would suppress or add replies, or change the connection for everyone,
    /// are refused with `SessionError` `.unsupported` before anything is written, the message
    /// naming what to use instead (names and subcommands match in any case):
    ///
    /// - pub/sub: `SUBSCRIBE`, `PSUBSCRIBE`, `SSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE`,
    ///   `SUNSUBSCRIBE`; `MONITOR`; replication: `SYNC`, `PSYNC`, `REPLCONF`;
    /// - replies switched off or redirected: `CLIENT REPLY`, `CLIENT TRACKING`, `CLIENT CACHING`;
    /// - connection state: `RESET`, `QUIT`, `HELLO`, `AUTH`, `SELECT`, `READONLY`, `READWRITE`,
    ///   `ASKING`; transactions: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH` (use a Lua
    ///   script: `EVAL`, `EVALSHA`, `FCALL`);
    /// - blocking commands, which hold back every later reply on the connection: `BLPOP`,
    ///   `BRPOP`, `BRPOPLPUSH`, `BLMOVE`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP`, `WAIT`,
    ///   `WAITAOF`, and `XREAD`/`XREADGROUP` with `BLOCK`.
    ///
    /// Other `CLIENT` subcommands (`SETNAME`, `INFO`, `ID`, `LIST`...) go out.
    ///
    /// - Parameters:
    ///   - arguments: the command name and its arguments, sent as an array of bulk strings.
    ///   - idempotent: `true` when running the command twice is harmless (GET, SET, DEL,
    ///     EXPIRE...): it is then retried once on a fresh connection if the connection is lost
    ///     before the reply arrives.
    /// - Throws: `SessionError` `.unsupported` for a refused command; `SessionError` for error
    ///   replies, timeouts and connection failures; `CancellationError` if the task is cancelled.
    @discardableResult
    public func send(_ arguments: [RedisArgument], idempotent: Bool = false) async throws -> RESPValue {
        try commandPolicy.check(arguments)
        let reply = try await execute(arguments, idempotent: idempotent)
        if case .error(let message) = reply {
            throw RedisErrorClass(message: message).error(message: message, address: serverDescription, command: commandName(arguments))
        }
        return reply
    }

    /// Where commands go, for error messages.
    var serverDescription: String {
        switch configuration.topology {
        case .standalone: return "\(configuration.address)"
        case .cluster: return "the cluster (\(configuration))"
        case .sentinel(let name, _): return "primary '\(name)'" + (sentinel?.currentPrimary.map { " (\($0))" } ?? "")
        }
    }

    /// Sends a command and returns its reply: `send("SET", key, value, "EX", 60)`.
    @discardableResult
    public func send(_ command: RedisArgument, _ arguments: RedisArgument...) async throws -> RESPValue {
        try await send([command] + arguments)
    }

    /// Closes every connection. Commands in flight fail; later calls fail with `storeUnavailable`.
    public func close() {
        closed.store(true, ordering: .releasing)
        for slot in slots { slot.shutDown() }
        cluster?.close()
        sentinel?.close()
    }

    /// Runs a command with the retry policy; error replies that are final come back as `.error`.
    ///
    /// - Parameters:
    ///   - deadline: the command's deadline; by default ``RedisConfiguration/commandTimeout`` from now.
    ///   - asking: Cluster: send `ASKING` right before the command (an `ASK` redirection).
    func execute(_ arguments: [RedisArgument], idempotent: Bool, deadline: Deadline? = nil, asking: Bool = false) async throws -> RESPValue {
        guard !closed.load(ordering: .acquiring) else {
            throw SessionError(.storeUnavailable, "this RedisClient was closed; create a new one")
        }
        let deadline = deadline ?? Deadline.after(configuration.commandTimeout)
        if let cluster {
            return try await cluster.execute(arguments, idempotent: idempotent, deadline: deadline)
        }
        var attempt = 0
        var lostOnce = false
        while true {
            let connection: RedisConnection
            do {
                connection = try await self.connection(deadline: deadline)
            } catch let error as NetworkError {
                throw SessionError(error)
            }
            let reply: RESPValue
            do {
                reply = try await connection.send(arguments, deadline: deadline, asking: asking)
            } catch let error as SessionError where error.code == .storeUnavailable && idempotent && !lostOnce && !deadline.hasPassed {
                lostOnce = true
                continue
            }
            guard case .error(let message) = reply else { return reply }
            let kind = RedisErrorClass(message: message)
            guard attempt < configuration.maxRetries, !deadline.hasPassed else { return reply }
            switch kind {
            case .retry:
                counters.retries.add(1, ordering: .relaxed)
                attempt += 1
                let pause = Backoff(initial: configuration.reconnectDelay, maximum: configuration.maxReconnectDelay).delay(attempt: attempt - 1)
                try await Task.sleep(for: min(pause, deadline.remaining))
            case .reconnect:
                counters.retries.add(1, ordering: .relaxed)
                attempt += 1
                connection.close(reason: SessionError(.storeUnavailable, "Redis at \(connection.address) answered READONLY; reconnecting to find the primary"))
            default:
                return reply
            }
        }
    }

    /// The open connections' write statistics, summed (for tests and diagnostics).
    var writeStatistics: (calls: Int, bytes: Int) {
        slots.compactMap { $0.readyConnection()?.writeStatistics }.reduce((0, 0)) { ($0.0 + $1.calls, $0.1 + $1.bytes) }
    }

    /// Commands written on the open connections (for tests and diagnostics).
    var commandsWritten: Int {
        slots.compactMap { $0.readyConnection()?.commandsWritten }.reduce(0, +)
    }

    /// RESP3 push frames skipped on the open connections (for tests and diagnostics).
    var pushFramesSkipped: Int {
        slots.compactMap { $0.readyConnection()?.pushFramesSkipped }.reduce(0, +)
    }

    private func connection(deadline: Deadline) async throws -> RedisConnection {
        let count = slots.count
        let start = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        for offset in 0..<count {
            if let ready = slots[(start + offset) % count].readyConnection() { return ready }
        }
        return try await slots[start % count].acquire(deadline: deadline)
    }

    private func commandName(_ arguments: [RedisArgument]) -> String {
        arguments.first.map { String(decoding: $0.bytes.prefix(32), as: UTF8.self).uppercased() } ?? "(empty command)"
    }
}
