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
