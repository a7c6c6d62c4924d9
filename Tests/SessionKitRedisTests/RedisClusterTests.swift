import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Synchronization
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs only when redis-server and redis-cli are installed, or under CI=true (where their
    /// absence fails).
    static var needsRedisCluster: ConditionTrait {
        .enabled(if: RedisCluster.shouldRun, "redis-server or redis-cli is not installed (apt-get install -y redis-server redis-tools); set CI=true to make this a failure")
    }

    /// Runs only when redis-server and redis-cli are installed, or under CI=true.
    static var needsRedisSentinel: ConditionTrait {
        .enabled(if: RedisSentinel.shouldRun, "redis-server or redis-cli is not installed (apt-get install -y redis-server redis-tools); set CI=true to make this a failure")
    }
}

/// A load run over a fixed set of session keys, each owned by one task, so that every task knows
/// exactly which value each of its keys must hold: any other value read is wrong data.
final class SessionLoad: Sendable {
    struct Counts: Sendable {
        var operations = 0
        var errors = 0
        var wrong: [String] = []
        /// Reads of an older version of the same session: acknowledged writes that the failed
        /// primary had not yet replicated (Redis replication is asynchronous).
        var rolledBack = 0
        var lastError: String?
    }

    let keys: [String]
    /// Whether reading an older version of the right session is tolerated (failover tests).
    let toleratesRollback: Bool
    let counts = Mutex(Counts())
    private let stopped = Atomic<Bool>(false)
    private let runner = Mutex<Task<Void, Never>?>(nil)

    init(keys: [String], toleratesRollback: Bool = false) {
        self.keys = keys
        self.toleratesRollback = toleratesRollback
    }

    /// The version in a value written for `key`, or nil if the value is not one of `key`'s.
    static func version(of bytes: [UInt8], key: String) -> Int? {
        let prefix = Array(#"{"key":"\#(key)","version":"#.utf8)
        guard bytes.count > prefix.count + 1, bytes.starts(with: prefix), bytes.last == UInt8(ascii: "}") else { return nil }
        return Int(String(decoding: bytes[prefix.count..<(bytes.count - 1)], as: UTF8.self))
    }

    static func value(_ key: String, _ version: Int) -> [UInt8] {
        Array(#"{"key":"\#(key)","version":\#(version)}"#.utf8)
    }

    /// Saves version 0 of every key.
    func seed(_ store: RedisSessionStore) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for key in keys { group.addTask { try await store.save(key: key, value: Self.value(key, 0), ttl: 3600) } }
            try await group.waitForAll()
        }
    }

    /// Starts `tasks` tasks that load and re-save their keys until ``stop()``.
    func start(_ store: RedisSessionStore, tasks: Int) {
        let keys = self.keys
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for t in 0..<tasks {
                    group.addTask {
                        let mine = keys.indices.filter { $0 % tasks == t }.map { keys[$0] }
                        // The values each key may hold: one, or two after a save whose outcome is unknown.
                        var expected = Dictionary(uniqueKeysWithValues: mine.map { ($0, Set([0])) })
                        var version = 0
                        while !self.stopped.load(ordering: .relaxed) {
                            for key in mine {
                                do {
                                    let bytes = try await store.load(key: key)
                                    let found = bytes.flatMap { Self.version(of: $0, key: key) }
                                    let ok = found.map { expected[key]!.contains($0) } ?? false
                                    if !ok, self.toleratesRollback, let found, found < expected[key]!.min()! {
                                        self.counts.withLock { $0.rolledBack += 1 }
                                    } else if !ok {
                                        let text = bytes.map { String(decoding: $0, as: UTF8.self) } ?? "nil"
                                        self.counts.withLock { $0.wrong.append("\(key) read \(text), expected versions \(expected[key]!)") }
                                    }
                                    version += 1
                                    do {
                                        try await store.save(key: key, value: Self.value(key, version), ttl: 3600)
                                        expected[key] = [version]
                                    } catch {
                                        expected[key]!.insert(version)
                                        throw error
                                    }
                                    self.counts.withLock { $0.operations += 1 }
                                } catch {
                                    self.counts.withLock {
                                        $0.errors += 1
                                        $0.lastError = "\(error)"
                                    }
                                    try? await Pace.pause(.milliseconds(20))  // the load backs off after an error
                                }
                            }
                        }
                    }
                }
            }
        }
        runner.withLock { $0 = task }
    }

    var operations: Int { counts.withLock { $0.operations } }

    /// Stops the tasks and waits for them.
    func stop() async {
        stopped.store(true, ordering: .relaxed)
        await runner.withLock { $0 }?.value
    }
}

/// Polls `condition` until it holds (a cluster or Sentinel deployment converging, a load making
/// progress against it); fails after `limit`: ``Poll/until(_:within:every:_:)``.
func waitUntil(_ limit: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
    try await Poll.until(what, within: limit, condition)
}

@Suite("Redis Cluster (real 6-node cluster)", .needsRedisCluster, .serialized)
struct RedisClusterTests {
    static func store(_ cluster: RedisCluster) throws -> RedisSessionStore {
        var configuration = try RedisConfiguration(testing: cluster.url)
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maxReconnectDelay = .milliseconds(200)
        configuration.maxRetries = 5
        return try RedisSessionStore(configuration: configuration)
    }

    @Test("sessions spread over all primaries; the store conformance suite passes over the cluster")
    func spread() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        let store = try Self.store(cluster)
        defer { store.client.close() }
        let keys = (0..<300).map { _ in "session:" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
        try await withDeadline(.seconds(120), "saving 300 sessions") {
            try await SessionLoad(keys: keys).seed(store)
        }
        for key in keys.prefix(50) {
            #expect(try await store.load(key: key) == SessionLoad.value(key, 0))
        }
        // The client's slots are the server's.
        for key in keys.prefix(5) + ["123456789", "{user1000}.following", "foo{bar}{zap}"] {
            let slot = try await cluster.command(port: cluster.ports[0], ["CLUSTER", "KEYSLOT", key])
            #expect(Int(slot) == RedisClient.hashSlot(of: key), "\(key)")
        }
        let primaries = try await cluster.nodes(askingPort: cluster.ports[0]).filter(\.isPrimary)
        #expect(primaries.count == 3)
        var total = 0
        for primary in primaries {
            let count = Int(try await cluster.command(port: primary.port, ["DBSIZE"])) ?? -1
            #expect(count > 0, "primary \(primary.port) holds none of the sessions")
            total += count
        }
        #expect(total == 300)
        // The store contract holds over a cluster client.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for check in StoreConformance.checks { group.addTask { try await check.run(store, time: .serverClock) } }
            try await group.waitForAll()
        }
        #expect(store.client.statistics.topologyRefreshes >= 1)

        // A RESP2 client reads the RESP2 form of CLUSTER SHARDS and finds the same sessions.
        var resp2 = try RedisConfiguration(testing: cluster.url)
        resp2.protocolVersion = .resp2
        let resp2Store = try RedisSessionStore(configuration: resp2)
        defer { resp2Store.client.close() }
        for key in keys.suffix(30) {
            #expect(try await resp2Store.load(key: key) == SessionLoad.value(key, 0))
        }
        #expect(resp2Store.client.statistics.movedRedirections == 0, "the RESP2 slot map is right from the start")
    }

    @Test("a slot migrated during a load run: ASK, then MOVED, counted; no wrong data")
    func migration() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        let store = try Self.store(cluster)
        defer { store.client.close() }
        let client = store.client
        // All keys in one slot, through a hash tag.
        let keys = (0..<120).map { "session:{migrating}\($0)" }
        let slot = RedisClient.hashSlot(of: keys[0])
        let load = SessionLoad(keys: keys)
        try await withDeadline(.seconds(60), "seeding") { try await load.seed(store) }

        let nodes = try await cluster.nodes(askingPort: cluster.ports[0])
        let source = try #require(nodes.first { $0.isPrimary && $0.slots.contains { $0.contains(slot) } })
        let target = try #require(nodes.first { $0.isPrimary && $0.id != source.id })
        let before = client.statistics

        load.start(store, tasks: 8)
        do {
            try await withDeadline(.seconds(120), "the migration") {
                _ = try await cluster.command(port: target.port, ["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id])
                _ = try await cluster.command(port: source.port, ["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id])
                var batches = 0
                while true {
                    let listed = try await cluster.command(port: source.port, ["CLUSTER", "GETKEYSINSLOT", "\(slot)", "15"])
                    let batch = listed.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
                    if batch.isEmpty { break }
                    _ = try await cluster.command(port: source.port, ["MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS"] + batch)
                    batches += 1
                    if batches == 2 {
                        // Half-way: keys of the slot live on both nodes; the load must be sent there by ASK.
                        try await waitUntil(.seconds(30), "an ASK redirection") { client.statistics.askRedirections > before.askRedirections }
                    }
                }
                for node in [target, source] + nodes.filter({ $0.isPrimary && $0.id != source.id && $0.id != target.id }) {
                    _ = try await cluster.command(port: node.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
                }
                try await waitUntil(.seconds(30), "a MOVED redirection") { client.statistics.movedRedirections > before.movedRedirections }
                let operations = load.operations
                try await waitUntil(.seconds(30), "more operations after the move") { load.operations > operations + 200 }
            }
        } catch {
            await load.stop()
            throw error
        }
        await load.stop()
        let counts = load.counts.withLock { $0 }
        let after = client.statistics
        print("migration: \(counts.operations) load+save operations, \(counts.errors) errors, ASK \(after.askRedirections - before.askRedirections), MOVED \(after.movedRedirections - before.movedRedirections), refreshes \(after.topologyRefreshes)")
        #expect(counts.wrong.isEmpty, "\(counts.wrong.prefix(5))")
        #expect(counts.errors == 0, "\(counts.lastError ?? "")")
        #expect(after.askRedirections > before.askRedirections)
        #expect(after.movedRedirections > before.movedRedirections)
        #expect(try await cluster.command(port: target.port, ["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]) == "120")
        #expect(try await cluster.command(port: source.port, ["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]) == "0")
        for key in keys {
            #expect(try await store.load(key: key) != nil)
        }
    }

    @Test("a primary killed: its replica is promoted and sessions keep working, with no wrong data")
    func failover() async throws {
        let cluster = try await RedisCluster.start(nodeTimeout: 1000)
        defer { cluster.stop() }
        let store = try Self.store(cluster)
        defer { store.client.close() }
        let keys = (0..<150).map { "session:failover:\($0)" }
        let load = SessionLoad(keys: keys, toleratesRollback: true)
        try await withDeadline(.seconds(60), "seeding") { try await load.seed(store) }

        let nodes = try await cluster.nodes(askingPort: cluster.ports[0])
        let slot = RedisClient.hashSlot(of: keys[0])
        let victim = try #require(nodes.first { $0.isPrimary && $0.slots.contains { $0.contains(slot) } })
        let replica = try #require(nodes.first { $0.primaryID == victim.id })
        for primary in nodes where primary.isPrimary {
            try await cluster.waitForReplication(primaryPort: primary.port)
        }
        let refreshesBefore = store.client.statistics.topologyRefreshes

        load.start(store, tasks: 6)
        let operations = load.operations
        try await waitUntil(.seconds(30), "load before the kill") { load.operations > operations + 100 }
        cluster.kill(port: victim.port)
        do {
            try await withDeadline(.seconds(90), "the failover") {
                try await cluster.waitUntilHealthy(timeout: .seconds(60))
                // The cluster is whole again, on the promoted replica: the load must go on.
                let promoted = try await cluster.nodes(askingPort: replica.port).first { $0.port == replica.port }
                #expect(promoted?.isPrimary == true)
                let errors = load.counts.withLock { $0.errors }
                let progress = load.operations
                try await waitUntil(.seconds(30), "operations after the failover") { load.operations > progress + 300 }
                // After the window, every operation succeeds.
                let settled = load.counts.withLock { $0.errors }
                let more = load.operations
                try await waitUntil(.seconds(30), "more operations") { load.operations > more + 300 }
                #expect(load.counts.withLock { $0.errors } == settled, "operations failed after the failover window: \(load.counts.withLock { $0.lastError ?? "" })")
                print("failover: \(settled - errors) errors between the cluster reporting healthy and 300 more operations")
            }
        } catch {
            await load.stop()
            throw error
        }
        await load.stop()
        let counts = load.counts.withLock { $0 }
        let statistics = store.client.statistics
        print("failover: \(counts.operations) operations, \(counts.errors) failed during the window, \(counts.rolledBack) reads of a version lost with the primary, retries \(statistics.retries), refreshes \(statistics.topologyRefreshes), MOVED \(statistics.movedRedirections)")
        #expect(counts.wrong.isEmpty, "\(counts.wrong.prefix(5))")
        #expect(statistics.topologyRefreshes > refreshesBefore)
        for key in keys {
            #expect(try await store.load(key: key) != nil, "\(key) was lost")
        }
    }
}
