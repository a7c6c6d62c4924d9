import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitRedis
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
        let tracked = try RedisClient(configuration: configuration, group: .shared(count: 1), commandPolicy: .unrestricted)
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
        // The patient client has a stalled proxy of its own, whose accepted connections are its.
        let patientProxy = try FaultProxy(upstreamPort: server.port)
        defer { patientProxy.stop() }
        patientProxy.setStalled(true)
        var longer = try RedisConfiguration(url: patientProxy.redisURL)
        longer.connectTimeout = .seconds(30)
        longer.commandTimeout = .seconds(30)
        let patient = try RedisClient(configuration: longer)
        defer { patient.close() }
        try await withDeadline(.seconds(60), "waiting for a connection") {
            let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
            #expect(error?.code == .timeout, "the command deadline fires while the connect goes on")
            let task = Task { try await patient.send("PING") }
            // Cancelled only once its connection is under way (the proxy accepted it, and the
            // handshake cannot finish): the command is then waiting for that connection.
            try await Poll.until("the patient client's connection reaches the proxy") { patientProxy.acceptedConnections >= 1 }
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
        // The clients connect through a proxy of their own: it sees each of their sockets close
        // (it reads the end of the stream and closes its two sides), which is the gate here.
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(testing: proxy.redisURL)
        configuration.connectionCount = 1
        // Warm up shared state (event loop, resolver) first.
        let warm = try RedisClient(configuration: configuration)
        try await warm.send("PING")
        warm.close()
        try await Poll.until("the warm-up client's socket closes") { proxy.openConnections == 0 }
        let before = openDescriptors()
        for _ in 0..<30 {
            let client = try RedisClient(configuration: configuration)
            try await client.send("PING")
            client.close()
        }
        #expect(proxy.acceptedConnections == 31)
        // Closing happens on the event loop: every socket the clients opened is closed once the
        // proxy saw all of them end.
        try await Poll.until("the 30 clients' sockets close") { proxy.openConnections == 0 }
        let after = openDescriptors()
        // Other tests run concurrently and open sockets too: allow slack, but not 30 leaked sockets.
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
