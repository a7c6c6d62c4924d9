import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Redis Sentinel (real primary, replica and 3 Sentinels)", .needsRedisSentinel, .serialized)
struct RedisSentinelTests {
    static func configuration(_ setup: RedisSentinel) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(testing: setup.url)
        configuration.reconnectDelay = .milliseconds(20)
        configuration.maxReconnectDelay = .milliseconds(300)
        return configuration
    }

    /// The port of the server a client's commands reach.
    static func port(reachedBy client: RedisClient) async throws -> Int? {
        let info = try await client.send("INFO", "server").string ?? ""
        return info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("tcp_port:") }.flatMap { Int($0.dropFirst(9)) }
    }

    @Test("the primary killed: the client follows the promoted replica")
    func primaryKilled() async throws {
        let setup = try await RedisSentinel.start()
        defer { setup.stop() }
        let store = try RedisSessionStore(configuration: Self.configuration(setup))
        defer { store.client.close() }
        let client = store.client
        let (primary, replica) = (setup.servers[0], setup.servers[1])
        #expect(try await Self.port(reachedBy: client) == primary.port)
        let keys = (0..<100).map { "session:sentinel:\($0)" }
        let load = SessionLoad(keys: keys, toleratesRollback: true)
        try await withDeadline(.seconds(60), "seeding") { try await load.seed(store) }
        try await RedisSentinel.waitFor(timeout: .seconds(30), "the replica to catch up") {
            let info = try await RedisCLI.command(port: primary.port, ["INFO", "replication"])
            let lines = info.split(whereSeparator: \.isNewline)
            let offset = lines.first { $0.hasPrefix("master_repl_offset:") }.map { String($0.dropFirst(19)) }
            return offset != nil && lines.contains { $0.hasPrefix("slave0:") && $0.contains("offset=\(offset!),") }
        }

        load.start(store, tasks: 4)
        let before = load.operations
        try await waitUntil(.seconds(30), "load before the kill") { load.operations > before + 100 }
        primary.stop()
        do {
            try await withDeadline(.seconds(90), "the failover") {
                try await RedisSentinel.waitFor(timeout: .seconds(60), "the Sentinels to promote the replica") {
                    try await setup.reportedPrimaryPort() == replica.port
                }
                try await waitUntil(.seconds(30), "the client to follow") { client.statistics.primaryChanges >= 1 }
                let progress = load.operations
                try await waitUntil(.seconds(30), "operations on the new primary") { load.operations > progress + 200 }
            }
        } catch {
            await load.stop()
            throw error
        }
        await load.stop()
        #expect(try await Self.port(reachedBy: client) == replica.port)
        #expect(try await client.send("ROLE").elements?.first?.string == "master")
        let counts = load.counts.withLock { $0 }
        print("sentinel kill: \(counts.operations) operations, \(counts.errors) failed during the window, \(counts.rolledBack) reads of a version lost with the primary, statistics \(client.statistics)")
        #expect(counts.wrong.isEmpty, "\(counts.wrong.prefix(5))")
        for key in keys { #expect(try await store.load(key: key) != nil, "\(key) was lost") }
    }

    @Test("SENTINEL FAILOVER: every connection moves to the new primary; configured in code")
    func manualFailover() async throws {
        let setup = try await RedisSentinel.start()
        defer { setup.stop() }
        var configuration = try Self.configuration(setup)
        configuration.topology = .sentinel(masterName: setup.masterName, sentinels: [.tcp(host: "127.0.0.1", port: 1)] + setup.sentinelPorts.map { .tcp(host: "127.0.0.1", port: $0) })
        configuration.connectionCount = 3
        let store = try RedisSessionStore(configuration: configuration)
        defer { store.client.close() }
        let client = store.client
        let (primary, replica) = (setup.servers[0], setup.servers[1])
        let keys = (0..<60).map { "session:manual:\($0)" }
        // Writes that reach the old primary between the promotion and the client's next check
        // of the Sentinels are lost when it becomes a replica: Redis replication is asynchronous.
        let load = SessionLoad(keys: keys, toleratesRollback: true)
        try await withDeadline(.seconds(60), "seeding") { try await load.seed(store) }
        #expect(try await Self.port(reachedBy: client) == primary.port, "a dead Sentinel in the list is skipped")

        load.start(store, tasks: 6)
        let before = load.operations
        try await waitUntil(.seconds(30), "load before the failover") { load.operations > before + 100 }
        _ = try await RedisCLI.command(port: setup.sentinelPorts[0], ["SENTINEL", "FAILOVER", setup.masterName])
        do {
            try await withDeadline(.seconds(90), "the failover") {
                try await RedisSentinel.waitFor(timeout: .seconds(60), "the Sentinels to promote the replica") {
                    try await setup.reportedPrimaryPort() == replica.port
                }
                try await waitUntil(.seconds(30), "the client to follow") { client.statistics.primaryChanges >= 1 }
                let progress = load.operations
                try await waitUntil(.seconds(30), "operations on the new primary") { load.operations > progress + 200 }
            }
        } catch {
            await load.stop()
            throw error
        }
        await load.stop()
        // Every connection now reaches the new primary (the old one, a replica now, would answer READONLY).
        for _ in 0..<12 {
            #expect(try await Self.port(reachedBy: client) == replica.port)
        }
        let counts = load.counts.withLock { $0 }
        print("sentinel failover: \(counts.operations) operations, \(counts.errors) failed during the switch, \(counts.rolledBack) reads of a version written to the old primary after the promotion, statistics \(client.statistics)")
        #expect(counts.wrong.isEmpty, "\(counts.wrong.prefix(5))")
    }
}
