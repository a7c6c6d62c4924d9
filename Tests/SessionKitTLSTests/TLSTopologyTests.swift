import Foundation
import SessionKit
import SessionKitRedis
import SessionKitTestSupport
import SessionKitTLS
import Testing

/// Redis Cluster and Sentinel over TLS: the addresses the servers report (`CLUSTER SHARDS`'
/// `tls-port`, `MOVED`, the primary a Sentinel names) are reached over TLS, verified by the
/// address connected to. The plain ports of the same nodes exist only for the fixtures' own
/// checks: a client that went there would fail its TLS handshake.
@Suite("Redis Cluster and Sentinel over TLS", .needsRedisToolsAndOpenSSL, .serialized, .timeLimit(.minutes(3)))
struct TLSTopologyTests {
    static func store(_ url: String) throws -> RedisSessionStore {
        var configuration = try RedisConfiguration(url: url, tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(10)
        configuration.commandTimeout = .seconds(20)
        configuration.maxRetries = 5
        return try RedisSessionStore(configuration: configuration)
    }

    static func keys(_ count: Int) -> [String] {
        (0..<count).map { _ in "session:" + UUID().uuidString.lowercased() }
    }

    @Test("rediss+cluster://: sessions on every primary over TLS, the conformance suite, and a MOVED followed to the new owner's TLS port")
    func cluster() async throws {
        let certificates = try await sharedCertificates.value
        let cluster = try await TLSRedisCluster.start(certificates: certificates)
        defer { cluster.stop() }
        let store = try Self.store(cluster.url(certificates: certificates))
        defer { store.client.close() }
        let keys = Self.keys(90)
        for key in keys { try await store.save(key: key, value: Array(#"{"k":"\#(key)"}"#.utf8), ttl: 600) }
        for key in keys.prefix(10) { #expect(try await store.load(key: key) == Array(#"{"k":"\#(key)"}"#.utf8)) }
        for node in cluster.nodes {
            let count = Int(try await RedisCLI.command(port: node.server.port, ["DBSIZE"])) ?? -1
            #expect(count > 0, "the primary with TLS port \(node.tlsPort) holds none of the sessions")
        }
        for check in StoreConformance.checks { try await check.run(store, time: .serverClock) }
        #expect(store.client.statistics.movedRedirections == 0, "the slot map from CLUSTER SHARDS' tls-port fields is right from the start")

        // Move an empty slot to another primary behind the client's back: its next write gets
        // MOVED, naming the new owner's TLS port.
        let key = Self.keys(1)[0]
        let slot = RedisClient.hashSlot(of: key)
        let owner = cluster.owner(of: slot)
        let target = cluster.nodes.first { $0.id != owner.id }!
        for node in [target] + cluster.nodes.filter({ $0.id != target.id && $0.id != owner.id }) + [owner] {
            _ = try await RedisCLI.command(port: node.server.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
        }
        try await store.save(key: key, value: Array("{}".utf8), ttl: 600)
        #expect(store.client.statistics.movedRedirections >= 1)
        #expect(try await RedisCLI.command(port: target.server.port, ["EXISTS", key]) == "1", "the session went to the slot's new owner")
        #expect(try await store.load(key: key) == Array("{}".utf8))
    }

    @Test("rediss+cluster://: during a slot migration the source's ASK is followed to the importing node's TLS port, for a read and a write; MOVED once it completes")
    func ask() async throws {
        let certificates = try await sharedCertificates.value
        let cluster = try await TLSRedisCluster.start(certificates: certificates)
        defer { cluster.stop() }
        let store = try Self.store(cluster.url(certificates: certificates))
        defer { store.client.close() }
        // Two sessions in one slot (a hash tag): one saved before the migration and moved by
        // MIGRATE, one saved while the slot is migrating.
        let tag = UUID().uuidString.lowercased()
        let (migrated, fresh) = ("session:{\(tag)}:migrated", "session:{\(tag)}:fresh")
        let slot = RedisClient.hashSlot(of: migrated)
        #expect(RedisClient.hashSlot(of: fresh) == slot)
        let source = cluster.owner(of: slot)
        let target = cluster.nodes.first { $0.id != source.id }!
        let others = cluster.nodes.filter { $0.id != source.id && $0.id != target.id }
        let (first, second) = (Array(#"{"user":"ada"}"#.utf8), Array(#"{"user":"grace"}"#.utf8))
        try await store.save(key: migrated, value: first, ttl: 600)
        #expect(try await RedisCLI.command(port: source.server.port, ["EXISTS", migrated]) == "1")

        _ = try await RedisCLI.command(port: target.server.port, ["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id])
        _ = try await RedisCLI.command(port: source.server.port, ["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id])
        // With tls-cluster yes, MIGRATE talks TLS: to the target's TLS port.
        let reply = try await RedisCLI.command(port: source.server.port, ["MIGRATE", "127.0.0.1", "\(target.tlsPort)", "", "0", "5000", "KEYS", migrated])
        #expect(reply == "OK", "MIGRATE: \(reply)")
        #expect(try await RedisCLI.command(port: source.server.port, ["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]) == "0")
        let before = store.client.statistics

        // The source no longer has either key: it answers ASK with the target's TLS port, and
        // the client sends ASKING and the command there, over TLS, verifying 127.0.0.1.
        #expect(try await store.load(key: migrated) == first, "the migrated session is read on the importing node")
        try await store.save(key: fresh, value: second, ttl: 600)
        let during = store.client.statistics
        #expect(during.askRedirections - before.askRedirections >= 2, "a read and a write were redirected by ASK: \(during)")
        #expect(during.movedRedirections == before.movedRedirections, "ASK does not change the slot map: \(during)")
        #expect(try await RedisCLI.command(port: target.server.port, ["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]) == "2", "both sessions are on the importing node")
        #expect(try await RedisCLI.command(port: source.server.port, ["CLUSTER", "COUNTKEYSINSLOT", "\(slot)"]) == "0")

        // Completing the migration: every node names the target; the client's next command for
        // the slot gets MOVED to the target's TLS port.
        for node in [target, source] + others {
            _ = try await RedisCLI.command(port: node.server.port, ["CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id])
        }
        #expect(try await store.load(key: fresh) == second)
        #expect(try await store.load(key: migrated) == first)
        #expect(store.client.statistics.movedRedirections > during.movedRedirections, "\(store.client.statistics)")
        #expect(try await RedisCLI.command(port: target.server.port, ["EXISTS", migrated, fresh]) == "2")
    }

    @Test("rediss+sentinel://: the primary found through the Sentinels' TLS ports, the conformance suite, and a failover followed")
    func sentinel() async throws {
        let certificates = try await sharedCertificates.value
        let setup = try await TLSRedisSentinel.start(certificates: certificates)
        defer { setup.stop() }
        let store = try Self.store(setup.url(certificates: certificates))
        defer { store.client.close() }
        for check in StoreConformance.checks { try await check.run(store, time: .serverClock) }
        let key = Self.keys(1)[0]
        try await store.save(key: key, value: Array("{}".utf8), ttl: 600)
        #expect(try await RedisCLI.command(port: setup.primary.port, ["EXISTS", key]) == "1")
        #expect(store.client.statistics.primaryResolutions >= 1)

        // A failover: the Sentinels name the replica's TLS port, and the client follows.
        _ = try await RedisCLI.command(port: setup.sentinels[0].port, ["SENTINEL", "FAILOVER", "mymaster"])
        try await RedisSentinel.waitFor(timeout: .seconds(60), "the replica to become the primary") {
            try await RedisCLI.command(port: setup.replica.port, ["ROLE"]).hasPrefix("master")
        }
        let after = Self.keys(1)[0]
        try await RedisSentinel.waitFor(timeout: .seconds(60), "a write to reach the new primary") {
            do {
                try await store.save(key: after, value: Array("{}".utf8), ttl: 600)
            } catch {
                return false
            }
            return try await RedisCLI.command(port: setup.replica.port, ["EXISTS", after]) == "1"
        }
        #expect(try await store.load(key: key) == Array("{}".utf8), "the session written before the failover is there")
    }
}
