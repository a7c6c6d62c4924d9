import SessionKit
@_spi(Engine) import SessionKitNetworking
import Synchronization

/// Finds the current primary through Redis Sentinel, for every (re)connect of a client:
/// asks the Sentinels in turn `SENTINEL get-master-addr-by-name <name>` (the one that answers
/// moves to the front), then checks with `ROLE` that the node it names is a primary.
final class SentinelLocator: NodeLocator {
    typealias Address = RedisConfiguration.Address

    private struct State {
        var order: [Address]
        var clients: [Address: RedisClient] = [:]
        var current: Address?
        var onChange: (@Sendable (Address) -> Void)?
        var closed = false
        var watcher: Task<Void, Never>?
    }

    private let state: Mutex<State>
    private let configuration: RedisConfiguration
    private let masterName: String
    private let group: EventLoopGroup
    private let counters: ClientCounters

    init(configuration: RedisConfiguration, masterName: String, sentinels: [Address], group: EventLoopGroup, counters: ClientCounters) {
        self.configuration = configuration
        self.masterName = masterName
        self.group = group
        self.counters = counters
        self.state = Mutex(State(order: sentinels))
    }

    /// The primary found last, if any.
    var currentPrimary: Address? { state.withLock { $0.current } }

    /// Calls `handler` with the new primary whenever a resolution finds a different one.
    func onPrimaryChange(_ handler: @escaping @Sendable (Address) -> Void) {
        state.withLock { $0.onChange = handler }
    }

    func close() {
        let (clients, watcher) = state.withLock { state -> ([RedisClient], Task<Void, Never>?) in
            state.closed = true
            state.onChange = nil   // it holds the client's connection slots, which hold this locator
            defer { state.clients.removeAll(); state.watcher = nil }
            return (Array(state.clients.values), state.watcher)
        }
        watcher?.cancel()
        for client in clients { client.close() }
    }

    /// Asks the Sentinels every ``RedisConfiguration/sentinelCheckInterval`` whether the primary
    /// changed, from the first resolution until the client closes.
    private func startWatching() {
        let interval = configuration.sentinelCheckInterval
        guard interval > .zero else { return }
        let timeout = configuration.connectTimeout
        state.withLock { state in
            guard state.watcher == nil, !state.closed else { return }
            state.watcher = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self, !Task.isCancelled else { return }
                    // A change found here moves the connections (see found(_:by:)).
                    _ = try? await self.locate(deadline: .after(timeout))
                }
            }
        }
    }

    func locate(deadline: Deadline) async throws -> Address {
        let order = state.withLock { $0.order }
        var failures: [String] = []
        for sentinel in order {
            do {
                let client = try client(for: sentinel)
                let reply = try await client.execute(["SENTINEL", "get-master-addr-by-name", RedisArgument(masterName)], idempotent: true, deadline: deadline)
                counters.resolutions.add(1, ordering: .relaxed)
                switch reply {
                case .array(let parts) where parts.count == 2:
                    guard let host = parts[0].string, let port = parts[1].string.flatMap(Int.init) ?? parts[1].integer.map(Int.init),
                          !host.isEmpty, (1...65535).contains(port) else {
                        failures.append("\(sentinel): unreadable answer (\(reply.redactedDescription))")
                        continue
                    }
                    let primary = Address.tcp(host: host, port: port)
                    found(primary, by: sentinel)
                    startWatching()
                    return primary
                case .null, .array:
                    failures.append("\(sentinel): does not monitor a primary named '\(masterName)'")
                case .error(let message):
                    failures.append("\(sentinel): error reply (\(RESPValue.redactedError(message)))")
                default:
                    failures.append("\(sentinel): unexpected answer (\(reply.redactedDescription))")
                }
            } catch {
                failures.append("\(sentinel): \((error as? SessionError)?.message ?? "\(error)")")
            }
            if deadline.hasPassed { break }
        }
        throw SessionError(.storeUnavailable, "no Sentinel gave the address of primary '\(masterName)' (\(failures.joined(separator: "; "))); check the Sentinel addresses, the primary's name (sentinel monitor <name> ...) and sentinelPassword")
    }

    func verify(_ connection: RedisConnection, at address: Address, deadline: Deadline) async throws {
        let reply = try await connection.send(["ROLE"], deadline: deadline)
        let role = reply.elements?.first?.string
        guard role == "master" else {
            throw SessionError(.storeUnavailable, "Sentinel named \(address) as primary '\(masterName)', but it reports ROLE \(role.map { ["slave", "replica", "sentinel"].contains($0) ? $0 : "of \($0.utf8.count) bytes" } ?? reply.redactedDescription); a failover is probably under way, the client asks again on the next call")
        }
    }

    /// Records the primary; a different one from before moves every connection to it.
    private func found(_ primary: Address, by sentinel: Address) {
        let handler = state.withLock { state -> (@Sendable (Address) -> Void)? in
            if let index = state.order.firstIndex(of: sentinel), index > 0 {
                state.order.remove(at: index)
                state.order.insert(sentinel, at: 0)
            }
            let previous = state.current
            state.current = primary
            guard let previous, previous != primary else { return nil }
            return state.onChange
        }
        if let handler {
            counters.changes.add(1, ordering: .relaxed)
            handler(primary)
        }
    }

    private func client(for sentinel: Address) throws -> RedisClient {
        try state.withLock { state -> RedisClient in
            guard !state.closed else { throw SessionError(.storeUnavailable, "this RedisClient was closed; create a new one") }
            if let client = state.clients[sentinel] { return client }
            var settings = RedisConfiguration(address: sentinel)
            settings.password = configuration.sentinelPassword
            settings.clientName = configuration.clientName
            settings.connectionCount = 1
            settings.maxRetries = 0
            settings.connectTimeout = configuration.connectTimeout
            settings.commandTimeout = configuration.connectTimeout
            settings.reconnectDelay = configuration.reconnectDelay
            settings.maxReconnectDelay = configuration.maxReconnectDelay
            settings.protocolVersion = configuration.protocolVersion
            settings.parserLimits = configuration.parserLimits
            // Sentinels of a TLS deployment listen on TLS ports too (tls-port), with the same CA.
            settings.tls = configuration.tls
            let client = try RedisClient(configuration: settings, group: group)
            state.clients[sentinel] = client
            return client
        }
    }
}
