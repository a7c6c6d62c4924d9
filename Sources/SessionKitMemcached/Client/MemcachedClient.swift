import SessionKit
@_spi(Engine) import SessionKitNetworking
import Synchronization

/// A memcached client that multiplexes many concurrent commands over a few connections per
/// server and spreads keys over several servers with a libmemcached-compatible ketama ring.
///
/// Commands issued at the same time go out in one write (auto-pipelining) and replies are
/// matched in order. Every command has a deadline (``MemcachedConfiguration/commandTimeout``).
/// A cancelled command returns at once with `CancellationError` while its reply is still read
/// and dropped. The meta flags that would suppress replies on the shared connections (`q`) are
/// refused by ``send(_:)``, and each meta reply must carry its command's opaque token, so a
/// reply cannot reach the wrong caller. A lost connection is re-established
/// on demand with jittered exponential backoff; while a server stays unreachable its calls fail
/// at once with `storeUnavailable`. With ``MemcachedConfiguration/ejectsDeadServers`` (off by
/// default), after ``MemcachedConfiguration/serverFailureLimit`` failed attempts it is taken off
/// the ring; once ``MemcachedConfiguration/deadServerRetryInterval`` has passed the client flushes
/// it (`flush_all`) and puts it back only when the flush succeeded, so that it cannot serve items
/// written before it left (a session ended meanwhile, for instance). While ejection is on,
/// ``delete(_:)`` also deletes the key on its fallback server, the one that holds it while its
/// owner is off the ring, so that a copy left there by an earlier outage cannot come back.
///
/// Keys are validated (``MemcachedKey``) and values checked against
/// ``MemcachedConfiguration/maxItemSize`` before anything is sent. Time-to-live arguments are
/// seconds (`nil` never expires) and go through ``MemcachedExpiration``, so TTLs over 30 days
/// are sent as absolute times.
///
/// ```swift
/// let memcached = try MemcachedClient(url: "memcached://127.0.0.1:11211")
/// try await memcached.set("greeting", value: Array("hello".utf8), ttl: 60)
/// let item = try await memcached.get("greeting")          // item?.value == "hello"
/// if let current = try await memcached.gets("counter") {
///     let result = try await memcached.compareAndSwap("counter", value: next, ttl: 60, cas: current.cas!)
/// }
/// ```
public final class MemcachedClient: Sendable {
    /// The outcome of ``compareAndSwap(_:value:flags:ttl:cas:)``.
    public enum CompareAndSwapResult: Sendable, Hashable {
        /// The value was stored.
        case stored
        /// Someone else changed the item since `gets`: reload and try again.
        case exists
        /// The item no longer exists.
        case notFound
    }

    /// Bytes memcached needs per item beyond the key and the value (item header, CAS, flags,
    /// CRLF); the client refuses values for which key + value + this exceed ``MemcachedConfiguration/maxItemSize``.
    public static let itemOverhead = 64

    /// The configuration the client was created with.
    public let configuration: MemcachedConfiguration
    /// The event loops the connections are spread over.
    let group: EventLoopGroup
    let nodes: [MemcachedServerNode]
    private let ring: Mutex<RingState>
    private let closed = Atomic<Bool>(false)
    /// The next opaque token put on a meta command (unique per client).
    private let nextOpaque = Atomic<UInt64>(0)
    /// What ``send(_:)`` refuses and how meta replies are matched (always
    /// ``MemcachedCommandPolicy/sharedConnection`` outside tests).
    let commandPolicy: MemcachedCommandPolicy
    /// The flush of returning servers and the deletes on fallback servers (always
    /// ``MemcachedEjectionSafety/standard`` outside tests).
    let ejectionSafety: MemcachedEjectionSafety
    /// Readmissions that failed (the flush did not succeed), for tests and diagnostics.
    let failedReadmissions = Atomic<Int>(0)

    struct RingState {
        var ring: KetamaRing
        /// Node indices, in the ring's server order.
        var live: [Int]
        /// Ejected nodes and when they may be tried again.
        var ejected: [Int: Deadline] = [:]
        /// Ejected nodes being flushed before they are put back.
        var readmitting: Set<Int> = []
    }

    /// Creates a client. No connection is made until the first command.
    ///
    /// - Throws: `SessionError` `.invalidConfiguration` when a setting is out of range.
    public convenience init(configuration: MemcachedConfiguration) throws {
        try self.init(configuration: configuration, group: .shared(count: configuration.eventLoopCount))
    }

    /// Creates a client from a server list (see ``MemcachedConfiguration/init(url:tls:)``).
    ///
    /// - Parameters:
    ///   - url: the server list; `memcached+tls://` needs `tls`.
    ///   - tls: the TLS settings for a `memcached+tls://` list (SessionKitTLS's `TLSConfiguration`).
    public convenience init(url: String, tls: (any TransportSecurity)? = nil) throws {
        try self.init(configuration: MemcachedConfiguration(url: url, tls: tls))
    }

    /// - Parameters:
    ///   - group: the event loops the connections are spread over.
    ///   - faults: test-only: faults injected into the engine (``ConnectionFaults/freedSlots``
    ///     reproduces the 2023 redis-py bug and accepts any reply), so that tests can prove
    ///     they catch them.
    ///   - commandPolicy: test-only: the other values let `send` write the flags it refuses, and
    ///     turn off meta reply matching, so that tests can show what that does to other callers.
    ///   - ejectionSafety: test-only: the other values turn off the flush of returning servers
    ///     or the deletes on fallback servers, so that tests can show what each one prevents.
    init(configuration: MemcachedConfiguration, group: EventLoopGroup, faults: ConnectionFaults = .none,
         commandPolicy: MemcachedCommandPolicy = .sharedConnection, ejectionSafety: MemcachedEjectionSafety = .standard) throws {
        try configuration.validate()
        self.commandPolicy = commandPolicy
        self.ejectionSafety = ejectionSafety
        self.configuration = configuration
        self.group = group
        let failures = FailureSink()
        var transport: (any TransportFactory)?
        if let tls = configuration.tls {
            do {
                transport = try tls.prepare().factory
            } catch {
                throw SessionError(.invalidConfiguration, "MemcachedConfiguration.tls cannot be used: \(error)")
            }
        }
        self.nodes = configuration.servers.enumerated().map { index, server in
            MemcachedServerNode(server: server, index: index, configuration: configuration, group: group, transport: transport,
                                faults: faults, onFailure: { count in failures.report(index, count) })
        }
        let all = Array(configuration.servers.indices)
        self.ring = Mutex(RingState(ring: KetamaRing(names: configuration.servers.map(\.ketamaName)), live: all))
        failures.client.withLock { $0 = WeakClient(client: self) }
    }

    deinit {
        for node in nodes { node.shutDown() }
    }

    /// Closes every connection. Commands in flight fail; later calls fail with `storeUnavailable`.
    public func close() {
        closed.store(true, ordering: .releasing)
        for node in nodes { node.shutDown() }
    }

    // MARK: Retrieval

    /// `get`: the item stored under `key`, or `nil`.
    public func get(_ key: String) async throws -> MemcachedItem? {
        try await single(.get(keys: [key]), key: key)
    }

    /// `gets`: the item with its CAS token, for ``compareAndSwap(_:value:flags:ttl:cas:)``.
    public func gets(_ key: String) async throws -> MemcachedItem? {
        try await single(.gets(keys: [key]), key: key)
    }

    /// `gat`: the item, with its time to live reset to `ttl` seconds (`nil`: never expires).
    public func getAndTouch(_ key: String, ttl: Int?) async throws -> MemcachedItem? {
        try await single(.gat(exptime: MemcachedExpiration.exptime(ttl: ttl), keys: [key]), key: key)
    }

    /// `gats`: like ``getAndTouch(_:ttl:)``, with the CAS token.
    public func getsAndTouch(_ key: String, ttl: Int?) async throws -> MemcachedItem? {
        try await single(.gats(exptime: MemcachedExpiration.exptime(ttl: ttl), keys: [key]), key: key)
    }

    /// `get` of several keys at once: one command per server, sent concurrently.
    ///
    /// - Returns: the items found, by key.
    public func get(_ keys: [String]) async throws -> [String: MemcachedItem] {
        let validated = try keys.map { key throws(SessionError) in try MemcachedKey.validate(key) }
        var byNode: [Int: ([String], [[UInt8]])] = [:]
        for (key, bytes) in zip(keys, validated) {
            let node = try route(bytes).index
            if byNode[node]?.0.contains(key) == true { continue }
            byNode[node, default: ([], [])].0.append(key)
            byNode[node, default: ([], [])].1.append(bytes)
        }
        return try await withThrowingTaskGroup(of: [MemcachedItem].self) { group in
            for (_, (keys, bytes)) in byNode {
                group.addTask {
                    let reply = try await self.execute(.get(keys: keys), keys: bytes, expecting: .items(bytes), idempotent: true)
                    return try self.items(reply, command: "get")
                }
            }
            var result: [String: MemcachedItem] = [:]
            for try await items in group {
                for item in items { result[item.key] = item }
            }
            return result
        }
    }

    // MARK: Storage

    /// `set`: stores `value` under `key`, replacing any previous value.
    ///
    /// - Parameters:
    ///   - key: the item's key.
    ///   - value: the item's bytes.
    ///   - flags: 32 bits stored with the item and returned by gets.
    ///   - ttl: seconds to live; `nil` never expires; zero or less expires at once.
    /// - Throws: `valueTooLarge` before anything is sent when the item would exceed
    ///   ``MemcachedConfiguration/maxItemSize``; `invalidKey`; `serverError` for error replies.
    public func set(_ key: String, value: [UInt8], flags: UInt32 = 0, ttl: Int?) async throws {
        let reply = try await store(.set(key: key, flags: flags, exptime: MemcachedExpiration.exptime(ttl: ttl), value: value), key: key, value: value, idempotent: true)
        guard case .stored = reply else { throw unexpected(reply, command: "set") }
    }

    /// `add`: stores `value` only when `key` is absent. Returns whether it was stored.
    public func add(_ key: String, value: [UInt8], flags: UInt32 = 0, ttl: Int?) async throws -> Bool {
        let reply = try await store(.add(key: key, flags: flags, exptime: MemcachedExpiration.exptime(ttl: ttl), value: value), key: key, value: value, idempotent: false)
        switch reply {
        case .stored: return true
        case .notStored: return false
        default: throw unexpected(reply, command: "add")
        }
    }

    /// `replace`: stores `value` only when `key` holds a live item. Returns whether it was
    /// stored.
    ///
    /// Retried once on a lost connection: a second `replace` of the same bytes is harmless,
    /// and never creates the item.
    public func replace(_ key: String, value: [UInt8], flags: UInt32 = 0, ttl: Int?) async throws -> Bool {
        let reply = try await store(.replace(key: key, flags: flags, exptime: MemcachedExpiration.exptime(ttl: ttl), value: value), key: key, value: value, idempotent: true)
        switch reply {
        case .stored: return true
        case .notStored: return false
        default: throw unexpected(reply, command: "replace")
        }
    }

    /// `cas`: stores `value` only if the item is unchanged since the ``gets(_:)`` that
    /// returned `cas`.
    public func compareAndSwap(_ key: String, value: [UInt8], flags: UInt32 = 0, ttl: Int?, cas: UInt64) async throws -> CompareAndSwapResult {
        let reply = try await store(.cas(key: key, flags: flags, exptime: MemcachedExpiration.exptime(ttl: ttl), value: value, cas: cas), key: key, value: value, idempotent: false)
        switch reply {
        case .stored: return .stored
        case .exists: return .exists
        case .notFound: return .notFound
        default: throw unexpected(reply, command: "cas")
        }
    }

    /// `delete`: removes `key`. Returns whether it existed on the server that holds it now.
    ///
    /// With ``MemcachedConfiguration/ejectsDeadServers`` and several servers, `key` is also
    /// deleted, concurrently, on its fallback server (where the ring without its current server
    /// puts it): that server held the key while its own server was off the ring, and would serve
    /// that old copy again if it went off once more. The call fails if either delete fails.
    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        let bytes = try MemcachedKey.validate(key)
        guard let fallback = try fallbackNode(for: bytes) else {
            return try deleted(await execute(.delete(key: key), keys: [bytes], expecting: .line, idempotent: true))
        }
        async let copy = execute(.delete(key: key), keys: [bytes], expecting: .line, idempotent: true, node: fallback)
        let existed = try deleted(await execute(.delete(key: key), keys: [bytes], expecting: .line, idempotent: true))
        _ = try deleted(await copy)
        return existed
    }

    /// Deletes `key` on its fallback server only (see ``delete(_:)``); nothing without
    /// ejection or with one server. ``MemcachedSessionStore`` calls it after a miss on the
    /// key's server, so that a copy left on the fallback server by an earlier outage is gone
    /// before that server could serve it again.
    func deleteOnFallback(_ key: String) async throws {
        let bytes = try MemcachedKey.validate(key)
        guard let fallback = try fallbackNode(for: bytes) else { return }
        _ = try deleted(await execute(.delete(key: key), keys: [bytes], expecting: .line, idempotent: true, node: fallback))
    }

    private func deleted(_ reply: MemcachedReply) throws -> Bool {
        switch reply {
        case .deleted: return true
        case .notFound: return false
        default: throw unexpected(reply, command: "delete")
        }
    }

    /// `touch`: sets a new time to live (`nil`: never expires). Returns whether the key existed.
    public func touch(_ key: String, ttl: Int?) async throws -> Bool {
        let bytes = try MemcachedKey.validate(key)
        let reply = try await execute(.touch(key: key, exptime: MemcachedExpiration.exptime(ttl: ttl)), keys: [bytes], expecting: .line, idempotent: true)
        switch reply {
        case .touched: return true
        case .notFound: return false
        default: throw unexpected(reply, command: "touch")
        }
    }

    /// Sends any command and returns its reply as is (error replies included), routed by its
    /// first key, or to the first live server for commands without keys.
    ///
    /// Keys and meta flags are validated before anything is written: a flag or key containing
    /// a space, CR, LF, NUL or another control byte is refused with `invalidKey`.
    ///
    /// The client's connections are shared by every caller and replies are matched in order, so
    /// the meta flags that would break that are refused with `unsupported`, also before anything
    /// is written: `q` (quiet: memcached leaves out some replies) and `O` (opaque: the client
    /// uses its own). Each meta command goes out with the client's opaque token, and its reply
    /// must carry that token and be of a kind the command can get (`mg`: `VA`, `EN`, `HD`; `ms`:
    /// `HD`, `NS`, `EX`, `NF`; `md`: `HD`, `NF`, `EX`; `mn`: `MN`), or the connection is closed
    /// with `protocolError` so that no later reply reaches the wrong caller. The token is removed
    /// from the flags of the reply returned.
    public func send(_ command: MemcachedCommand) async throws -> MemcachedReply {
        let keys = try MemcachedEncoder.validate(command)
        try commandPolicy.check(command)
        let expectation: ReplyExpectation
        var opaque: String?
        switch command {
        case .get, .gets, .gat, .gats: expectation = .items(keys)
        case .metaGet, .metaSet, .metaDelete, .metaNoop:
            if commandPolicy.matchesMetaReplies, let kind = MetaReplyKind(command) {
                if kind.carriesOpaque {
                    opaque = "O\(nextOpaque.wrappingAdd(1, ordering: .relaxed).newValue)"
                }
                expectation = .meta(kind, opaque: opaque)
            } else {
                expectation = .meta(nil, opaque: nil)
            }
        default: expectation = .line
        }
        if case .metaSet(_, let value, _) = command { try checkSize(key: keys[0], value: value) }
        switch command {
        case .set(_, _, _, let value), .add(_, _, _, let value), .replace(_, _, _, let value), .cas(_, _, _, let value, _):
            try checkSize(key: keys[0], value: value)
        default: break
        }
        let reply = try await execute(command, keys: keys, opaque: opaque, expecting: expectation, idempotent: false)
        if let opaque, case .meta(var meta) = reply {
            meta.flags.removeAll { $0 == opaque }
            return .meta(meta)
        }
        return reply
    }

    /// The server's version string (`version`), asking the server at `index` in the list.
    public func version(serverAt index: Int = 0) async throws -> String {
        guard nodes.indices.contains(index) else {
            throw SessionError(.invalidConfiguration, "there is no server at index \(index); the client has \(nodes.count)")
        }
        let reply = try await execute(.version, keys: [], expecting: .line, idempotent: true, node: nodes[index])
        guard case .version(let text) = reply else { throw unexpected(reply, command: "version") }
        return text
    }

    /// The server that holds `key` now (ejected servers excluded).
    public func server(for key: String) throws -> MemcachedConfiguration.Server {
        try route(MemcachedKey.validate(key)).server
    }

    /// The servers currently taken off the ring after repeated failures.
    public var ejectedServers: [MemcachedConfiguration.Server] {
        ring.withLock { state in state.ejected.keys.sorted().map { nodes[$0].server } }
    }

    // MARK: Internals

    private func single(_ command: MemcachedCommand, key: String) async throws -> MemcachedItem? {
        let bytes = try MemcachedKey.validate(key)
        let reply = try await execute(command, keys: [bytes], expecting: .items([bytes]), idempotent: true)
        return try items(reply, command: command.name).first
    }

    private func store(_ command: MemcachedCommand, key: String, value: [UInt8], idempotent: Bool) async throws -> MemcachedReply {
        let bytes = try MemcachedKey.validate(key)
        try checkSize(key: bytes, value: value)
        return try await execute(command, keys: [bytes], expecting: .line, idempotent: idempotent)
    }

    /// Throws `valueTooLarge` when the item would not fit in the server's item size.
    func checkSize(key: [UInt8], value: [UInt8]) throws(SessionError) {
        let limit = configuration.maxItemSize - key.count - Self.itemOverhead
        guard value.count <= limit else {
            throw SessionError(.valueTooLarge, "the value is \(value.count) bytes; with its key and memcached's per-item overhead it exceeds maxItemSize (\(configuration.maxItemSize) bytes, at most \(max(limit, 0)) bytes of value for this key), so it was not sent: memcached would refuse it and delete the key's current value. Store less, or raise memcached's -I and maxItemSize together")
        }
    }

    private func items(_ reply: MemcachedReply, command: String) throws -> [MemcachedItem] {
        guard case .values(let items) = reply else { throw unexpected(reply, command: command) }
        return items
    }

    func unexpected(_ reply: MemcachedReply, command: String) -> SessionError {
        let shown = reply.redactedDescription
        switch reply {
        case .serverError(let message):
            if message.contains("too large") {
                return SessionError(.valueTooLarge, "memcached refused \(command) as too large: \(shown); the server's item size (-I) is smaller than the client's maxItemSize: lower maxItemSize to match it")
            }
            if message.contains("out of memory") {
                return SessionError(.storeFailure, "memcached is out of memory and refused \(command) (\(shown)); give it more memory (-m)")
            }
            return SessionError(.serverError, "memcached refused \(command): \(shown)")
        case .clientError:
            return SessionError(.serverError, "memcached refused \(command) as malformed: \(shown)")
        case .error:
            return SessionError(.serverError, "memcached does not know the command \(command) (\(shown)); is the server memcached 1.6 or later?")
        default:
            return SessionError(.protocolError, "memcached answered \(command) with \(shown), which makes no sense for that command")
        }
    }

    /// The node that owns `key`; starts readmitting ejected servers whose retry time has come
    /// (they stay off the ring until ``readmit(_:)`` flushed them).
    func route(_ key: [UInt8]) throws(SessionError) -> MemcachedServerNode {
        if nodes.count == 1 { return nodes[0] }
        let (index, due): (Int?, [Int]) = ring.withLock { state in
            var due: [Int] = []
            if !state.ejected.isEmpty {
                let now = Deadline.now()
                due = state.ejected.filter { $0.value <= now && !state.readmitting.contains($0.key) }.map(\.key)
                state.readmitting.formUnion(due)
            }
            return (state.ring.server(for: key).map { state.live[$0] }, due)
        }
        for node in due {
            Task { await self.readmit(node) }
        }
        guard let index else {
            throw SessionError(.storeUnavailable, "every memcached server (\(configuration.servers.map(\.description).joined(separator: ", "))) failed and was taken off the ring; they are retried every \(Int(configuration.deadServerRetryInterval.milliseconds)) ms. Check that memcached is running")
        }
        return nodes[index]
    }

    /// The server that holds `key` when its current server is off the ring, when deletes must
    /// reach it too: with ejection, several servers on the ring and ``MemcachedEjectionSafety/cleansFallbackServer``.
    func fallbackNode(for key: [UInt8]) throws(SessionError) -> MemcachedServerNode? {
        guard ejectionSafety.cleansFallbackServer, configuration.ejectsDeadServers, nodes.count > 1 else { return nil }
        let index: Int? = ring.withLock { state in
            let servers = state.ring.servers(for: key, count: 2)
            return servers.count == 2 ? state.live[servers[1]] : nil
        }
        return index.map { nodes[$0] }
    }

    /// Puts an ejected server back on the ring once it answered a `flush_all`, which removes
    /// everything it held when it left: a session deleted on another server meanwhile must not
    /// come back from it. If the flush fails, it stays off for another retry interval.
    private func readmit(_ index: Int) async {
        let node = nodes[index]
        let flushes = ejectionSafety.flushesReturningServers
        var ready = false
        if !closed.load(ordering: .acquiring) {
            do {
                let deadline = Deadline.after(configuration.commandTimeout)
                let connection = try await node.connection(deadline: deadline)
                let reply = try await connection.send(expecting: .line, deadline: deadline) { buffer in
                    if flushes {
                        MemcachedEncoder.encodeFlushAll(into: &buffer)
                    } else {
                        MemcachedEncoder.encodeValidated(.version, keys: [], into: &buffer)
                    }
                }
                switch reply {
                case .ok: ready = flushes
                case .version: ready = !flushes
                default: ready = false
                }
            } catch {
                ready = false
            }
        }
        ring.withLock { state in
            state.readmitting.remove(index)
            guard state.ejected[index] != nil else { return }
            if ready {
                state.ejected[index] = nil
                rebuild(&state)
            } else {
                state.ejected[index] = .after(configuration.deadServerRetryInterval)
            }
        }
        if !ready { failedReadmissions.add(1, ordering: .relaxed) }
    }

    private func rebuild(_ state: inout RingState) {
        state.live = nodes.indices.filter { state.ejected[$0] == nil }
        state.ring = KetamaRing(names: state.live.map { configuration.servers[$0].ketamaName })
    }

    /// A server's connection attempt failed for the `count`th time in a row.
    func noteFailure(node index: Int, count: Int) {
        guard configuration.ejectsDeadServers, nodes.count > 1, count >= configuration.serverFailureLimit else { return }
        ring.withLock { state in
            guard state.ejected[index] == nil else { return }
            state.ejected[index] = .after(configuration.deadServerRetryInterval)
            rebuild(&state)
        }
    }

    /// Runs a command with the retry policy: once more when the connection was lost and the
    /// command is idempotent, or when its server was just taken off the ring.
    ///
    /// - Parameter opaque: the flag (`O<token>`) to put on a meta command, which `expectation` checks.
    func execute(_ command: MemcachedCommand, keys: [[UInt8]], opaque: String? = nil, expecting expectation: ReplyExpectation, idempotent: Bool,
                 node fixed: MemcachedServerNode? = nil) async throws -> MemcachedReply {
        guard !closed.load(ordering: .acquiring) else {
            throw SessionError(.storeUnavailable, "this MemcachedClient was closed; create a new one")
        }
        // The one path to the wire: meta flags are checked here too, whoever built the command.
        try MemcachedEncoder.validateMetaFlags(command)
        let deadline = Deadline.after(configuration.commandTimeout)
        var retried = false
        while true {
            let node = try fixed ?? route(keys.first ?? [])
            do {
                let connection = try await node.connection(deadline: deadline, key: keys.first)
                return try await connection.perform(.command(command, keys: keys, opaque: opaque, expecting: expectation), deadline: deadline)
            } catch let error as SessionError where error.code == .storeUnavailable && !retried && !deadline.hasPassed {
                retried = true
                let moved = fixed == nil && (try? route(keys.first ?? []))?.index != node.index
                if moved || idempotent { continue }
                throw error
            }
        }
    }

    /// Commands written on the open connections (for tests and diagnostics).
    var commandsWritten: Int {
        nodes.flatMap(\.openConnections).map(\.commandsWritten).reduce(0, +)
    }

    /// The open connections' write statistics, summed (for tests and diagnostics).
    var writeStatistics: (calls: Int, bytes: Int) {
        nodes.flatMap(\.openConnections).map(\.writeStatistics).reduce((0, 0)) { ($0.0 + $1.calls, $0.1 + $1.bytes) }
    }
}

/// Lets connection slots report failures to the client without a reference cycle.
private final class FailureSink: Sendable {
    let client = Mutex<WeakClient?>(nil)

    func report(_ node: Int, _ count: Int) {
        client.withLock { $0?.client }?.noteFailure(node: node, count: count)
    }
}

private struct WeakClient: @unchecked Sendable {
    weak var client: MemcachedClient?
}
