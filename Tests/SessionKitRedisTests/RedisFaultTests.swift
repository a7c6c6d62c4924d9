import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Redis client under faults (fault-injecting proxy)", .needsRedis)
struct RedisFaultTests {
    @Test("connection reset mid-reply: the command fails cleanly, the client reconnects")
    func resetMidReply() async throws {
        let server = try await SharedRedis.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(testing: proxy.redisURL).withFastReconnect()
        configuration.connectionCount = 1
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let key = "fault:big:\(UUID())"
        let big = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        try await client.send("SET", RedisArgument(key), RedisArgument(big))
        try await withDeadline(.seconds(60), "reset mid-reply") {
            proxy.resetMidReply()
            let error = await #expect(throws: SessionError.self) { try await client.send("GET", RedisArgument(key)) }
            #expect(error?.code == .storeUnavailable)
            #expect(proxy.midReplyResets == 1)
            // The next command gets a fresh connection and the whole, right value.
            let reply = try await Poll.retrying("a GET on a fresh connection") { try await client.send("GET", RedisArgument(key)) }
            #expect(reply.bytes == big)
            // An idempotent command is retried once on a fresh connection, invisibly.
            proxy.resetMidReply()
            #expect(try await client.send(["GET", RedisArgument(key)], idempotent: true).bytes == big)
        }
        try await client.send("DEL", RedisArgument(key))
    }

    @Test("a stalled server: the deadline fires, the stalled connection is replaced")
    func stalledServer() async throws {
        let server = try await SharedRedis.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(testing: proxy.redisURL).withFastReconnect()
        configuration.connectionCount = 1
        configuration.commandTimeout = .milliseconds(300)
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        // Connect first: on a loaded machine the first connect may itself take over 300 ms.
        try await withDeadline(.seconds(60), "first connection") {
            try await Poll.until("the first PONG", within: .seconds(60)) { (try? await client.send("PING")) == .simpleString("PONG") }
        }
        try await withDeadline(.seconds(60), "stalled server") {
            proxy.setStalled(true)
            // The stall lasts until it is lifted below: only the client's deadline can end
            // this call (a hang is caught by withDeadline).
            let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
            #expect(error?.code == .timeout, "\(String(describing: error))")
            // Many callers stuck behind the stall all get their deadline, none hangs.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
                        #expect(error?.code == .timeout || error?.code == .storeUnavailable)
                    }
                }
            }
            proxy.setStalled(false)
            let recovered = try await Poll.holds(within: .seconds(20)) { (try? await client.send("PING")) == .simpleString("PONG") }
            #expect(recovered)
        }
    }

    @Test("server restart: calls fail fast while it is down, then the client recovers without hanging")
    func serverRestart() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let configuration = try RedisConfiguration(testing: server.url).withFastReconnect()
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        try await client.send("SET", "k", "before")
        try await withDeadline(.seconds(60), "restart recovery") {
            server.stop()
            // While down: every call ends quickly with storeUnavailable (or a timeout), none hangs.
            for _ in 0..<20 {
                let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
                #expect(error?.code == .storeUnavailable || error?.code == .timeout, "\(String(describing: error))")
            }
            try await server.restart()
            let value = try await Poll.retrying("a PING after the restart") { try await client.send("PING") }
            #expect(value == .simpleString("PONG"))
            // No persistence: the restarted server is empty.
            #expect(try await client.send("GET", "k") == .null)
        }
    }

    @Test("connections refused by the proxy fail fast, accepted ones work again")
    func refusedConnections() async throws {
        let server = try await SharedRedis.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try RedisClient(configuration: RedisConfiguration(url: proxy.redisURL).withFastReconnect())
        defer { client.close() }
        try await withDeadline(.seconds(60), "refused connections") {
            proxy.setRefusing(true)
            for _ in 0..<5 {
                await #expect(throws: SessionError.self) { try await client.send("PING") }
            }
            proxy.setRefusing(false)
            let recovered = try await Poll.holds(within: .seconds(20)) { (try? await client.send("PING")) == .simpleString("PONG") }
            #expect(recovered)
        }
    }

    @Test("a save abandoned after a timeout and executed later does not overwrite a newer acknowledged save")
    func lateSave() async throws {
        let server = try await SharedRedis.get()
        for conditional in [true, false] {
            let proxy = try FaultProxy(upstreamPort: server.port)
            defer { proxy.stop() }
            var configuration = try RedisConfiguration(testing: proxy.redisURL).withFastReconnect()
            configuration.connectionCount = 1
            configuration.commandTimeout = .seconds(3)
            let store = try RedisSessionStore(configuration: configuration)
            defer { store.client.close() }
            // The control (plain writes): the same store behind a wrapper that is not a
            // VersionedSessionStore.
            let outcome = try await withDeadline(.seconds(60), "late-write check") {
                try await LateWriteCheck.run(store: store, proxy: proxy, plainWrites: !conditional)
            }
            #expect(outcome.abandonedRequestFailed)
            #expect(outcome.heldConnectionsDelivered == 1)
            // With the compare-and-set script the late write finds other bytes; with plain
            // `SET`s it lands.
            #expect(outcome.finalCounter == .int(conditional ? 2 : 1), "conditional: \(conditional)")
        }
    }
}
