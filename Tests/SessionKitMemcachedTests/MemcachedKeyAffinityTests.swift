import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
@_spi(Engine) import SessionKitNetworking
import SessionKitTestSupport
import Testing

/// Key affinity: a memcached client sends every command on one key over one connection (the
/// chaos soak that found why runs against both stores in SessionKitNetworkStoreTests).
@Suite("memcached key affinity", .needsMemcached)
struct MemcachedKeyAffinityTests {
    /// Found by the soak: with commands spread over the connections, a `set` whose caller was
    /// cancelled could reach memcached after the same session's next, acknowledged `set` (sent
    /// on the other connection) and undo it. Every command on one key now takes that key's
    /// connection, where the server keeps their order.
    @Test("commands on one key keep to one connection, so a cancelled set never lands after the next acknowledged one")
    func oneConnectionPerKey() async throws {
        let server = try await SharedMemcached.get()
        var configuration = try MemcachedConfiguration(testing: server.url)
        configuration.connectionsPerServer = 2
        let client = try MemcachedClient(configuration: configuration)
        defer { client.close() }
        let prefix = "soak:key-affinity:\(UUID().uuidString.prefix(8)):"
        // Open both connections: keys are spread over them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 { group.addTask { try await client.set(prefix + "\(i)", value: Array("x".utf8), ttl: 60) } }
            try await group.waitForAll()
        }
        let connections = client.nodes[0].openConnections
        #expect(connections.count == 2)
        let key = prefix + "session"
        let before = connections.map(\.writeStatistics.bytes)
        for round in 0..<200 {
            let cancelled = Task { try await client.set(key, value: Array("cancelled-\(round)".utf8), ttl: 60) }
            cancelled.cancel()
            _ = await cancelled.result
            try await client.set(key, value: Array("acknowledged-\(round)".utf8), ttl: 60)
            let value = try await client.get(key)?.value
            #expect(value == Array("acknowledged-\(round)".utf8), "round \(round): \(value.map { String(decoding: $0, as: UTF8.self) } ?? "nil")")
        }
        // Every one of those commands went over the same connection.
        let grew = zip(connections.map(\.writeStatistics.bytes), before).filter { $0 != $1 }.count
        #expect(grew == 1, "commands on one key were written to \(grew) connections")
    }
}
