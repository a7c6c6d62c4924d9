import Foundation
import SessionKit
import SessionKitNetworking
@testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Redis client edge cases", .needsRedis)
struct RedisClientEdgeTests {
    @Test("RESP3 push frames between replies never reach a caller")
    func pushFramesAreSkipped() async throws {
        let server = try await SharedRedis.get()
        var configuration = SharedRedis.configuration(server)
        configuration.connectionCount = 1
        // send refuses CLIENT TRACKING on shared connections; this test turns it on anyway to
        // check the connection's own handling of pushes (see RedisSendGuardTests).
        let tracked = try RedisClient(configuration: configuration, loop: .shared, freesCancelledSlots: false, commandPolicy: .unrestricted)
        defer { tracked.close() }
        let writer = try RedisClient(configuration: SharedRedis.configuration(server))
        defer { writer.close() }
        let key = "push:\(UUID())"
        try await writer.send("SET", RedisArgument(key), "v0")
        #expect(try await tracked.send("CLIENT", "TRACKING", "ON") == .simpleString("OK"))
        for round in 1...20 {
            // Reading the key makes the server track it; the write makes it push an invalidation.
            _ = try await tracked.send("GET", RedisArgument(key))
            try await writer.send("SET", RedisArgument(key), RedisArgument("v\(round)"))
            let replies = try await withThrowingTaskGroup(of: (Int, RESPValue).self) { group in
                for i in 0..<10 {
                    group.addTask { (i, try await tracked.send("ECHO", RedisArgument("echo-\(round)-\(i)"))) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for i in 0..<10 {
                #expect(replies[i]?.string == "echo-\(round)-\(i)")
            }
        }
        #expect(try await tracked.send("GET", RedisArgument(key)).string == "v20")
        #expect(tracked.pushFramesSkipped >= 1, "the server did push invalidations on this connection")
        try await writer.send("DEL", RedisArgument(key))
    }

    @Test("a command waiting for a connection honours cancellation and its deadline")
    func waitingForConnection() async throws {
        let server = try await SharedRedis.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        proxy.setStalled(true)  // TCP connects, but the handshake never gets an answer
        var configuration = try RedisConfiguration(url: proxy.redisURL)
        configuration.connectTimeout = .seconds(30)
        configuration.commandTimeout = .milliseconds(300)
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        var longer = configuration
        longer.commandTimeout = .seconds(30)
        let patient = try RedisClient(configuration: longer)
        defer { patient.close() }
        try await withDeadline(.seconds(60), "waiting for a connection") {
            let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
            #expect(error?.code == .timeout, "the command deadline fires while the connect goes on")
            let task = Task { try await patient.send("PING") }
            try await Task.sleep(for: .milliseconds(50))
            task.cancel()
            let result = await task.result
            #expect(throws: CancellationError.self) { try result.get() }
        }
    }

    @Test("closed clients release their sockets")
    func noDescriptorLeak() async throws {
        let server = try await SharedRedis.get()
        func openDescriptors() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        }
        // Warm up shared state (event loop, resolver) first.
        let warm = try RedisClient(configuration: SharedRedis.configuration(server))
        try await warm.send("PING")
        warm.close()
        try await Task.sleep(for: .milliseconds(100))
        let before = openDescriptors()
        for _ in 0..<30 {
            let client = try RedisClient(configuration: SharedRedis.configuration(server))
            try await client.send("PING")
            client.close()
        }
        // Closing happens on the event loop; give it a moment, bounded.
        var after = openDescriptors()
        for _ in 0..<100 where after > before + 8 {
            try await Task.sleep(for: .milliseconds(20))
            after = openDescriptors()
        }
        // Other tests run concurrently and open sockets too: allow slack, but not 60 leaked sockets.
        #expect(after <= before + 8, "open descriptors went from \(before) to \(after)")
    }

    @Test("READONLY from a replica: reconnect and retry, then a clear storeUnavailable; reads work")
    func readOnlyReplica() async throws {
        let primary = try await SharedRedis.get()
        let replica = try await RedisServer.start(.init(extraArguments: ["--replicaof", "127.0.0.1", "\(primary.port)"]))
        defer { replica.stop() }
        var configuration = try RedisConfiguration(testing: replica.url)
        configuration.maxRetries = 2
        configuration.connectionCount = 1
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let before = try await client.send("INFO", "stats").string ?? ""
        let error = await #expect(throws: SessionError.self) { try await client.send("SET", "on-replica", "x") }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("read-only replica") == true, "\(error?.message ?? "")")
        // Each READONLY closed the connection: the replica saw the reconnects.
        let after = try await client.send("INFO", "stats").string ?? ""
        func connections(_ info: String) -> Int {
            info.split(separator: "\r\n").first { $0.hasPrefix("total_connections_received:") }
                .flatMap { Int($0.split(separator: ":")[1]) } ?? 0
        }
        #expect(connections(after) - connections(before) >= 2, "before: \(connections(before)), after: \(connections(after))")
        #expect(try await client.send("PING") == .simpleString("PONG"))
    }

    @Test("IPv6 loopback", .enabled(if: RedisServer.ipv6LoopbackMissing == nil, Comment(rawValue: RedisServer.ipv6LoopbackMissing ?? "")))
    func ipv6() async throws {
        let server = try await RedisServer.start(.init(ipv6: true))
        defer { server.stop() }
        let client = try RedisClient(testing: "redis://[::1]:\(server.port)")
        defer { client.close() }
        #expect(try await client.send("PING") == .simpleString("PONG"))
    }

    @Test("replies far larger than one read arrive whole, interleaved with small ones")
    func largeAndSmallInterleaved() async throws {
        let server = try await SharedRedis.get()
        var configuration = SharedRedis.configuration(server)
        configuration.connectionCount = 1
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let key = "large:\(UUID())"
        let big = [UInt8]((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try await client.send("SET", RedisArgument(key), RedisArgument(big))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { () async throws -> Void in
                    if i % 4 == 0 {
                        let reply = try await client.send("GET", RedisArgument(key))
                        #expect(reply.bytes == big)
                    } else {
                        let reply = try await client.send("ECHO", RedisArgument("small-\(i)"))
                        #expect(reply.string == "small-\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        try await client.send("DEL", RedisArgument(key))
    }
}
