import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// Faults injected between the client and a real memcached with ``FaultProxy``.
@Suite("memcached faults through the fault proxy", .needsMemcached, .serialized)
struct MemcachedFaultTests {
    static func client(_ proxy: FaultProxy, connections: Int = 2) throws -> MemcachedClient {
        var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(proxy.port)").withFastReconnect()
        configuration.connectionsPerServer = connections
        return try MemcachedClient(configuration: configuration)
    }

    @Test("a connection reset mid-reply fails or retries the commands in flight, never returns a partial value")
    func resetMidReply() async throws {
        let server = try await SharedMemcached.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try Self.client(proxy)
        defer { client.close() }
        let prefix = "fault:mid:\(UUID().uuidString.prefix(8)):"
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        for i in 0..<20 { try await client.set(prefix + "\(i)", value: big + Array("\(i)".utf8), ttl: 300) }
        for round in 0..<5 {
            proxy.resetMidReply()
            let results = await withTaskGroup(of: (Int, Result<[UInt8]?, any Error>).self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do { return (i, .success(try await client.get(prefix + "\(i)")?.value)) } catch { return (i, .failure(error)) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for (i, result) in results {
                switch result {
                case .success(let value): #expect(value == big + Array("\(i)".utf8), "round \(round), key \(i)")
                case .failure(let error): #expect((error as? SessionError)?.code == .storeUnavailable, "\(error)")
                }
            }
            proxy.clearFaults()
        }
        #expect(proxy.midReplyResets >= 1)
        try await eventually("the client recovers") { (try? await client.get(prefix + "3"))??.value == big + Array("3".utf8) }
    }

    @Test("refused connections fail fast with storeUnavailable; accepted again, the client reconnects")
    func refused() async throws {
        let server = try await SharedMemcached.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try Self.client(proxy, connections: 1)
        defer { client.close() }
        let key = "fault:refused:\(UUID().uuidString.prefix(8))"
        try await client.set(key, value: Array("v".utf8), ttl: 60)
        proxy.setRefusing(true)
        proxy.resetAllConnections()
        var failures = 0
        for _ in 0..<10 {
            do { _ = try await client.get(key) } catch let error as SessionError {
                #expect(error.code == .storeUnavailable || error.code == .timeout, "\(error)")
                failures += 1
            }
        }
        #expect(failures > 0)
        proxy.setRefusing(false)
        try await eventually("the client reconnects") { (try? await client.get(key))??.value == Array("v".utf8) }
    }

    @Test("sets interrupted by resets leave either the old or the new value, and the stream stays in step")
    func interruptedSets() async throws {
        let server = try await SharedMemcached.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try Self.client(proxy)
        defer { client.close() }
        let key = "fault:set:\(UUID().uuidString.prefix(8))"
        let direct = try MemcachedClient(testing: server.url)
        defer { direct.close() }
        try await direct.set(key, value: Array("old".utf8), ttl: 60)
        let values = (0..<50).map { Array("new-\($0)-".utf8) + [UInt8](repeating: 0x78, count: 50_000) }
        // The resets land while the sets are on the wire: after 120 kB and 1 MB of the 2.5 MB
        // they make reached the server (in the middle of the third and of the twentieth value).
        proxy.resetAllConnections(whenClientBytesReach: [120_000, 1_000_000])
        await withTaskGroup(of: Void.self) { group in
            for value in values { group.addTask { try? await client.set(key, value: value, ttl: 60) } }
        }
        #expect(proxy.progressResets >= 1, "a reset cut the sets in flight (\(proxy.forwardedFromClient) bytes forwarded)")
        let stored = try #require(try await direct.get(key)?.value)
        #expect(stored == Array("old".utf8) || values.contains(stored), "the stored value is one whole write")
    }

    @Test("a save abandoned after a timeout and executed later does not overwrite a newer acknowledged save")
    func lateSave() async throws {
        let server = try await SharedMemcached.get()
        for conditional in [true, false] {
            let proxy = try FaultProxy(upstreamPort: server.port)
            defer { proxy.stop() }
            var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(proxy.port)").withFastReconnect()
            configuration.connectionsPerServer = 1
            configuration.commandTimeout = .seconds(3)
            let store = try MemcachedSessionStore(configuration: configuration)
            defer { store.client.close() }
            // The control (plain writes): the same store behind a wrapper that is not a
            // VersionedSessionStore.
            let outcome = try await withDeadline(.seconds(60), "late-write check") {
                try await LateWriteCheck.run(store: store, proxy: proxy, plainWrites: !conditional)
            }
            #expect(outcome.abandonedRequestFailed)
            #expect(outcome.heldConnectionsDelivered == 1)
            // With `cas` the late write finds another token; with plain `set`s it lands.
            #expect(outcome.finalCounter == .int(conditional ? 2 : 1), "conditional: \(conditional)")
        }
    }
}
