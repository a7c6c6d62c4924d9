import SessionKit
@_spi(Engine) import SessionKitNetworking
import Synchronization

/// Routes a Cluster client's commands: one multiplexed single-node client per primary, a slot
/// map refreshed from `CLUSTER SHARDS` (`CLUSTER SLOTS` on servers before 7.0), `MOVED` and `ASK`
/// followed up to ``RedisConfiguration/maxRedirections``, `TRYAGAIN`/`CLUSTERDOWN` and unreachable
/// nodes retried with backoff up to ``RedisConfiguration/maxRetries`` within the deadline.
final class ClusterRouter: Sendable {
    typealias Address = RedisConfiguration.Address

    private struct State {
        var map: SlotMap?
        var nodes: [Address: RedisClient] = [:]
        var refresh: Task<Void, Never>?
        var lastRefreshStart: Deadline?
        var closed = false
        var lastRefreshError: SessionError?
    }

    private let state = Mutex(State())
    private let configuration: RedisConfiguration
    private let seeds: [Address]
    private let group: EventLoopGroup
    private let counters: ClientCounters
    private let backoff: Backoff
    /// Refreshes asked for within this interval of the last one share its result.
    private static let minimumRefreshInterval: Duration = .milliseconds(100)

    init(configuration: RedisConfiguration, seeds: [Address], group: EventLoopGroup, counters: ClientCounters) {
        self.configuration = configuration
        self.seeds = seeds
        self.group = group
        self.counters = counters
        self.backoff = Backoff(initial: configuration.reconnectDelay, maximum: configuration.maxReconnectDelay)
    }

    func close() {
        let (clients, refresh) = state.withLock { state -> ([RedisClient], Task<Void, Never>?) in
            state.closed = true
            defer { state.nodes.removeAll() }
            return (Array(state.nodes.values), state.refresh)
        }
        refresh?.cancel()
        for client in clients { client.close() }
    }

    /// The primaries the current slot map knows (for tests and diagnostics).
    var primaries: [Address] { state.withLock { $0.map?.primaries ?? [] } }

    // MARK: Commands

    func execute(_ arguments: [RedisArgument], idempotent: Bool, deadline: Deadline) async throws -> RESPValue {
        let slot = Self.key(of: arguments).map(HashSlot.slot(of:))
        var redirections = 0
        var retries = 0
        var askTarget: Address?
        var lastError: SessionError?
        while true {
            // Where to send it.
            let target: Address
            if let ask = askTarget {
                target = ask
            } else if let owner = try await owner(of: slot, deadline: deadline) {
                target = owner
            } else {
                let error = lastError ?? state.withLock { $0.lastRefreshError } ?? SessionError(.storeUnavailable, "no node of the Redis Cluster serves slot \(slot ?? -1) (seeds \(seeds.map(\.description).joined(separator: ","))); the cluster may be failing over or not fully set up")
                guard retries < configuration.maxRetries, !deadline.hasPassed else { throw error }
                retries += 1
                counters.retries.add(1, ordering: .relaxed)
                try await pause(retries, deadline: deadline)
                await refresh(deadline: deadline, force: true)
                continue
            }
            let asking = askTarget != nil
            askTarget = nil
            let reply: RESPValue
            do {
                reply = try await client(for: target).execute(arguments, idempotent: idempotent, deadline: deadline, asking: asking)
            } catch let error as SessionError where error.code == .storeUnavailable {
                // The node is unreachable or was dropped from the map meanwhile: the cluster may
                // be failing over. Only idempotent commands are sent again.
                guard idempotent, retries < configuration.maxRetries, !deadline.hasPassed else { throw error }
                retries += 1
                lastError = error
                counters.retries.add(1, ordering: .relaxed)
                await refresh(deadline: deadline, force: false)
                try await pause(retries, deadline: deadline)
                continue
            }
            guard case .error(let message) = reply else { return reply }
            let words = message.split(separator: " ", maxSplits: 3)
            switch words.first {
            case "MOVED", "ASK":
                guard words.count >= 3, let movedSlot = Int(words[1]), let address = Self.address(words[2], from: target) else {
                    return reply
                }
                redirections += 1
                guard redirections <= configuration.maxRedirections else { return reply }
                if words[0] == "ASK" {
                    counters.ask.add(1, ordering: .relaxed)
                    askTarget = address
                } else {
                    counters.moved.add(1, ordering: .relaxed)
                    state.withLock { $0.map?.assign(slot: movedSlot, to: address) }
                    // More slots have probably moved with this one: refresh in the background.
                    requestRefresh()
                }
            case "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "BUSY", "READONLY":
                guard retries < configuration.maxRetries, !deadline.hasPassed else { return reply }
                retries += 1
                counters.retries.add(1, ordering: .relaxed)
                try await pause(retries, deadline: deadline)
                if words.first != "TRYAGAIN" && words.first != "LOADING" {
                    await refresh(deadline: deadline, force: false)
                }
            default:
                return reply
            }
        }
    }

    private func pause(_ attempt: Int, deadline: Deadline) async throws {
        let delay = min(backoff.delay(attempt: attempt - 1), deadline.remaining)
        if delay > .zero { try await Task.sleep(for: delay) }
    }

    /// The primary for `slot` (any primary for keyless commands), fetching the map if needed.
    private func owner(of slot: Int?, deadline: Deadline) async throws -> Address? {
        if state.withLock({ $0.map == nil }) {
            await refresh(deadline: deadline, force: true)
        }
        return state.withLock { state -> Address? in
            guard let map = state.map else { return nil }
            guard let slot else { return map.primaries.randomElement() }
            return map.primary(forSlot: slot)
        }
    }

    /// The single-node client of `address`, created on first use.
    func client(for address: Address) throws -> RedisClient {
        try state.withLock { state -> RedisClient in
            guard !state.closed else {
                throw SessionError(.storeUnavailable, "this RedisClient was closed; create a new one")
            }
            if let client = state.nodes[address] { return client }
            var node = configuration
            node.topology = .standalone
            node.address = address
            node.maxRetries = 0   // retried here, with the cluster's view
            node.database = 0
            let client = try RedisClient(configuration: node, group: group, counters: counters)
            state.nodes[address] = client
            return client
        }
    }

    // MARK: The slot map

    /// Starts a refresh in the background unless one ran very recently.
    private func requestRefresh() {
        _ = startRefresh(force: false)
    }

    /// Refreshes the slot map and waits for it (a refresh already running is joined).
    private func refresh(deadline: Deadline, force: Bool) async {
        // Each node asked has its own connect deadline, so this wait is bounded.
        await startRefresh(force: force)?.value
    }

    private func startRefresh(force: Bool) -> Task<Void, Never>? {
        state.withLock { state -> Task<Void, Never>? in
            guard !state.closed else { return nil }
            if let running = state.refresh { return running }
            if !force, let last = state.lastRefreshStart, Deadline.now() < last.advanced(by: Self.minimumRefreshInterval) {
                return nil
            }
            state.lastRefreshStart = .now()
            let task = Task { await self.fetchMap() }
            state.refresh = task
            return task
        }
    }

    /// Asks the known nodes, then the seeds, in turn for the slot map; installs the first answer.
    private func fetchMap() async {
        let known = state.withLock { $0.map?.nodes ?? [] }
        var candidates: [Address] = []
        for address in known + seeds where !candidates.contains(address) { candidates.append(address) }
        var failures: [String] = []
        var installed = false
        for address in candidates {
            let deadline = Deadline.after(configuration.connectTimeout)
            do {
                let node = try client(for: address)
                let host: String
                if case .tcp(let name, _) = address { host = name } else { host = "127.0.0.1" }
                var reply = try await node.execute(["CLUSTER", "SHARDS"], idempotent: true, deadline: deadline)
                var map: SlotMap
                if case .error(let message) = reply, message.lowercased().contains("unknown") {
                    reply = try await node.execute(["CLUSTER", "SLOTS"], idempotent: true, deadline: deadline)
                    if case .error(let message) = reply { throw SessionError(.serverError, "error reply (\(RESPValue.redactedError(message)))") }
                    map = try SlotMap.fromSlots(reply, askedHost: host)
                } else if case .error(let message) = reply {
                    throw SessionError(.serverError, "error reply (\(RESPValue.redactedError(message)))")
                } else {
                    map = try SlotMap.fromShards(reply, askedHost: host, tls: configuration.tls != nil)
                }
                guard map.coveredSlots > 0 else {
                    throw SessionError(.storeUnavailable, "it serves no slots yet")
                }
                counters.refreshes.add(1, ordering: .relaxed)
                install(map)
                installed = true
                break
            } catch {
                failures.append("\(address): \((error as? SessionError)?.message ?? "\(error)")")
            }
        }
        state.withLock { state in
            state.refresh = nil
            if !installed {
                state.lastRefreshError = SessionError(.storeUnavailable, "no node of the Redis Cluster answered for the slot map (\(failures.joined(separator: "; "))); check the seed nodes and that the cluster is up")
            } else {
                state.lastRefreshError = nil
            }
        }
    }

    /// Installs a new map and closes the clients of nodes that are no longer primaries.
    private func install(_ map: SlotMap) {
        let dropped = state.withLock { state -> [RedisClient] in
            state.map = map
            let stale = state.nodes.keys.filter { !map.primaries.contains($0) }
            return stale.compactMap { state.nodes.removeValue(forKey: $0) }
        }
        for client in dropped { client.close() }
    }

    // MARK: Parsing helpers

    /// The key a command is routed by: its first argument, except for keyless commands and
    /// scripts (`EVAL script numkeys key...`).
    static func key(of arguments: [RedisArgument]) -> [UInt8]? {
        guard arguments.count >= 2 else { return nil }
        let name = String(decoding: arguments[0].bytes.prefix(16), as: UTF8.self).uppercased()
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard arguments.count >= 4, let count = Int(String(decoding: arguments[2].bytes, as: UTF8.self)), count > 0 else { return nil }
            return arguments[3].bytes
        case "PING", "ECHO", "INFO", "TIME", "DBSIZE", "CLUSTER", "COMMAND", "CONFIG", "CLIENT", "HELLO",
             "AUTH", "SELECT", "SCRIPT", "FUNCTION", "FLUSHALL", "FLUSHDB", "KEYS", "SCAN", "RANDOMKEY",
             "WAIT", "MULTI", "EXEC", "DISCARD", "SLOWLOG", "MEMORY", "LATENCY", "ROLE", "READONLY",
             "READWRITE", "ASKING", "PUBLISH", "SUBSCRIBE", "SPUBLISH", "ACL", "DEBUG", "LASTSAVE":
            return nil
        default:
            return arguments[1].bytes
        }
    }

    /// `host:port` from a redirection (`:port` alone means the host that answered).
    static func address(_ text: Substring, from origin: Address) -> Address? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty, case .tcp(let originHost, _) = origin { host = originHost }
        return host.isEmpty ? nil : .tcp(host: host, port: port)
    }
}
