import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
@_spi(Engine) import SessionKitNetworking
import SessionKitTestSupport
import Testing

/// The chaos soak (``ChaosSoak``) over memcached, short: long runs use `scripts/soak.sh`.
@Suite("Chaos soak over memcached", .needsMemcached)
struct MemcachedSoakTests {
    @Test("users keep their own sessions, and every write acknowledged since the last restart, through faults and cancellations")
    func soak() async throws {
        var configuration = ChaosSoak.Configuration(store: .memcached, duration: .seconds(15), users: 50, seed: 11)
        configuration.faultInterval = 0.3...0.8
        configuration.successesBetweenFaults = 50
        configuration.warmUp = .seconds(3)
        // Other suites run in this process at the same time and allocate as they please, so
        // neither its resident memory nor its heap is the soak's own: memory is reported here
        // but bounded only where the soak runs alone in its process (SessionKitSoak, which
        // .ci/run runs after the tests, and scripts/soak.sh).
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = configuration.clientTimeout
            memcached.commandTimeout = configuration.clientTimeout
            memcached.reconnectDelay = .milliseconds(10)
            memcached.maxReconnectDelay = .milliseconds(200)
            let client = try MemcachedClient(configuration: memcached)
            // The default configuration: whole-session saves, which the store makes with `cas`
            // against the token the session was read with (a `set` that timed out in a stall
            // could otherwise still reach memcached after later, acknowledged writes).
            let middleware = try SessionMiddleware(MemcacheSessionInterface(store: MemcachedSessionStore(client: client), configuration: SessionConfiguration()))
            return ChaosSoak.Target(middleware: middleware, close: { client.close() })
        }
        print(report)
        print(report.resultLine)
        #expect(report.violations == 0, "\(report)")
        // Not vacuous: every fault kind happened, and requests succeeded and were checked.
        for kind in ChaosSoak.FaultKind.allCases {
            #expect(report.faults[kind.rawValue, default: 0] > 0, "no \(kind.rawValue) was injected")
        }
        #expect(report.acknowledgedWrites > 0 && report.successfulReads > 0)
        #expect(report.verifiedReadBacks > 0)
        #expect(report.cancellationsIssued > 0)
        #expect(report.finalUsers > 0 && report.finalReadBacks == report.finalUsers)
        #expect(report.warmUpHeap > 0 && report.heapBound > 0 && report.rssSamples > 0, "the memory bound was checked: \(report)")
    }

    @Test("the soak's checks catch a store that loses acknowledged writes or crosses sessions", arguments: BrokenSessionStore<MemcachedSessionStore>.Flaw.allCases)
    func catchesBrokenStores(flaw: BrokenSessionStore<MemcachedSessionStore>.Flaw) async throws {
        var configuration = ChaosSoak.Configuration(store: .memcached, duration: .seconds(3), users: 20, seed: 3)
        // No faults, so no restart: every acknowledged write is held to the strong check.
        configuration.faults = []
        configuration.cancelProbability = 0
        configuration.warmUp = .seconds(1)
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        // Enough requests for the flaws to show, however slow the machine.
        configuration.minimumRequests = 500
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = .seconds(10)
            memcached.commandTimeout = .seconds(10)
            let client = try MemcachedClient(configuration: memcached)
            let base = MemcachedSessionStore(client: client)
            let middleware = try SessionMiddleware(StoreSessionInterface(store: BrokenSessionStore(base, flaw: flaw)))
            return ChaosSoak.Target(middleware: middleware, close: { client.close() })
        }
        #expect(report.sessionsLostToRestart == 0 && report.faults.isEmpty, "no fault may excuse a lost write: \(report)")
        switch flaw {
        case .dropsSaves: #expect(report.violationsByKind["lost-acknowledged-write", default: 0] > 0, "\(report)")
        case .crossesSessions: #expect(report.violationsByKind["crossed-session", default: 0] > 0, "\(report)")
        }
    }

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
