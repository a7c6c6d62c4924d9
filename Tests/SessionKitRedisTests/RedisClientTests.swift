import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Redis client against a real server", .needsRedis)
struct RedisClientTests {
    @Test("basic commands and reply types")
    func basics() async throws {
        let server = try await SharedRedis.get()
        let client = try RedisClient(configuration: SharedRedis.configuration(server))
        defer { client.close() }
        #expect(try await client.send("PING") == .simpleString("PONG"))
        let key = "client:basics:\(UUID())"
        #expect(try await client.send("SET", RedisArgument(key), "v1", "EX", 60) == .simpleString("OK"))
        #expect(try await client.send("GET", RedisArgument(key)) == .bulkString(Array("v1".utf8)))
        #expect(try await client.send("GET", RedisArgument(key + ":missing")) == .null)
        #expect(try await client.send("DEL", RedisArgument(key)) == .integer(1))
        let binary: [UInt8] = Array(0...255) + Array("\r\n*1\r\n".utf8)
        try await client.send("SET", RedisArgument(key), RedisArgument(binary))
        #expect(try await client.send("GET", RedisArgument(key)).bytes == binary)
        // RESP3 maps after HELLO 3.
        try await client.send("HSET", RedisArgument(key + ":h"), "f", "1")
        #expect(try await client.send("HGETALL", RedisArgument(key + ":h")) == .map([(.bulkString(Array("f".utf8)), .bulkString(Array("1".utf8)))]))
        try await client.send("DEL", RedisArgument(key), RedisArgument(key + ":h"))
    }

    @Test("error replies are thrown as SessionError with the server's text")
    func errorReplies() async throws {
        let server = try await SharedRedis.get()
        let client = try RedisClient(configuration: SharedRedis.configuration(server))
        defer { client.close() }
        let key = "client:wrongtype:\(UUID())"
        try await client.send("LPUSH", RedisArgument(key), "x")
        let error = await #expect(throws: SessionError.self) { try await client.send("GET", RedisArgument(key)) }
        #expect(error?.code == .serverError)
        #expect(error?.message.contains("WRONGTYPE") == true)
        let unknown = await #expect(throws: SessionError.self) { try await client.send("NOSUCHCOMMAND") }
        #expect(unknown?.code == .serverError)
        // The connection stays usable after error replies.
        #expect(try await client.send("PING") == .simpleString("PONG"))
        try await client.send("DEL", RedisArgument(key))
    }

    @Test("HELLO 3 negotiates RESP3; .resp2 stays on RESP2")
    func protocolVersions() async throws {
        let server = try await SharedRedis.get()
        let client = try RedisClient(configuration: SharedRedis.configuration(server))
        defer { client.close() }
        let info = try await client.send("CLIENT", "INFO").string ?? ""
        #expect(info.contains("resp=3"))
        #expect(info.contains("name=SessionKit"))
        var configuration = SharedRedis.configuration(server)
        configuration.protocolVersion = .resp2
        configuration.clientName = "resp2-client"
        let old = try RedisClient(configuration: configuration)
        defer { old.close() }
        let oldInfo = try await old.send("CLIENT", "INFO").string ?? ""
        #expect(oldInfo.contains("resp=2"))
        #expect(oldInfo.contains("name=resp2-client"))
        // RESP2 hash replies are flat arrays.
        let key = "client:resp2:\(UUID())"
        try await old.send("HSET", RedisArgument(key), "f", "1")
        #expect(try await old.send("HGETALL", RedisArgument(key)) == .array([.bulkString(Array("f".utf8)), .bulkString(Array("1".utf8))]))
        try await old.send("DEL", RedisArgument(key))
    }

    @Test("Unix domain socket and host-name connections")
    func unixAndHostName() async throws {
        let server = try await SharedRedis.get()
        let unix = try RedisClient(testing: server.unixURL + "?db=1")
        defer { unix.close() }
        #expect(try await unix.send("PING") == .simpleString("PONG"))
        let key = "client:unix:\(UUID())"
        try await unix.send("SET", RedisArgument(key), "in-db-1")
        let byName = try RedisClient(testing: "redis://localhost:\(server.port)/1")
        defer { byName.close() }
        #expect(try await byName.send("GET", RedisArgument(key)) == .bulkString(Array("in-db-1".utf8)))
        let db0 = try RedisClient(testing: server.url + "/0")
        defer { db0.close() }
        #expect(try await db0.send("GET", RedisArgument(key)) == .null, "SELECT put the key in database 1 only")
        try await unix.send("DEL", RedisArgument(key))
    }

    @Test("concurrent commands are auto-pipelined and each gets its own reply")
    func pipelining() async throws {
        let server = try await SharedRedis.get()
        var configuration = SharedRedis.configuration(server)
        configuration.connectionCount = 1
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let prefix = "client:pipe:\(UUID()):"
        try await client.send("PING")
        let before = client.writeStatistics.calls
        let count = 2000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    try await client.send("SET", RedisArgument(prefix + "\(i)"), RedisArgument("value-\(i)"))
                    let reply = try await client.send("GET", RedisArgument(prefix + "\(i)"))
                    #expect(reply == .bulkString(Array("value-\(i)".utf8)))
                }
            }
            try await group.waitForAll()
        }
        let writes = client.writeStatistics.calls - before
        #expect(writes < 2 * count, "\(2 * count) commands went out in \(writes) writes")
        let keys = (0..<count).map { RedisArgument(prefix + "\($0)") }
        #expect(try await client.send(["DEL"] + keys) == .integer(Int64(count)))
    }

    @Test("a cancelled command keeps its slot: later commands get their own replies")
    func cancellationKeepsSlot() async throws {
        let server = try await SharedRedis.get()
        // A stalled proxy holds the reply back until the caller has given up.
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(testing: proxy.redisURL)
        configuration.connectionCount = 1
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let key = "client:cancel:\(UUID())", late = "client:late:\(UUID())"
        try await client.send("SET", RedisArgument(key), "mine")
        try await client.send("SET", RedisArgument(late), "late reply")
        for _ in 0..<5 {
            proxy.setStalled(true)
            let written = client.commandsWritten
            let slow = Task { try await client.send("GET", RedisArgument(late)) }
            // Cancelled once the command is on the wire (written on the connection) ...
            try await Poll.until("the GET is written") { client.commandsWritten > written }
            slow.cancel()
            let result = await slow.result
            #expect(throws: CancellationError.self, "the caller gave up before the reply") { try result.get() }
            // ... and its reply arrives only after that: the next command must not get it.
            proxy.setStalled(false)
            #expect(try await client.send("GET", RedisArgument(key)) == .bulkString(Array("mine".utf8)))
        }
        try await client.send("DEL", RedisArgument(key), RedisArgument(late))
    }

    /// Told apart by order, not by time: a backoff of an hour cannot end during the test, and
    /// one of a nanosecond has ended by the next call.
    @Test("a server that is down fails fast with storeUnavailable during the backoff, and is reconnected to after it")
    func failFast() async throws {
        // The port is held by a bound socket that does not listen: connections are refused, as
        // on a machine with no server, and no other test's server can take the port before
        // this test starts its own there.
        let held = try HeldPort()
        let port = held.port
        func client(backoff: Duration) throws -> RedisClient {
            var configuration = try RedisConfiguration(testing: "redis://127.0.0.1:\(port)")
            configuration.reconnectDelay = backoff
            configuration.maxReconnectDelay = backoff
            configuration.connectionCount = 1
            return try RedisClient(configuration: configuration)
        }
        let waiting = try client(backoff: .seconds(3600))
        defer { waiting.close() }
        let retrying = try client(backoff: .nanoseconds(1))
        defer { retrying.close() }
        for client in [waiting, retrying] {
            let first = await #expect(throws: SessionError.self) { try await client.send("PING") }
            #expect(first?.code == .storeUnavailable)
            #expect(first?.message.contains("cannot connect") == true, "\(first?.message ?? "")")
        }
        // Within the backoff: no connect attempt, an immediate clear error.
        let second = await #expect(throws: SessionError.self) { try await waiting.send("PING") }
        #expect(second?.code == .storeUnavailable)
        #expect(second?.message.contains("Failing fast") == true, "\(second?.message ?? "")")
        // A server on that port now: the client whose backoff has ended reconnects at once; the
        // other still fails fast and has not connected.
        held.release()
        let server = try await RedisServer.start(port: port)
        defer { server.stop() }
        #expect(try await retrying.send("PING") == .simpleString("PONG"))
        let third = await #expect(throws: SessionError.self) { try await waiting.send("PING") }
        #expect(third?.message.contains("Failing fast") == true, "\(third?.message ?? "")")
        let clients = try await retrying.send("CLIENT", "LIST").string ?? ""
        #expect(clients.split(separator: "\n").count == 1, "only the reconnected client is connected: \(clients)")
    }

    @Test("closing the client fails later calls clearly")
    func closedClient() async throws {
        let server = try await SharedRedis.get()
        let client = try RedisClient(configuration: SharedRedis.configuration(server))
        try await client.send("PING")
        client.close()
        let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
        #expect(error?.code == .storeUnavailable)
    }
}

@Suite("Redis authentication", .needsRedis)
struct RedisAuthenticationTests {
    @Test("requirepass: no password and a wrong password are authenticationFailed; the right one works")
    func requirePass() async throws {
        let server = try await RedisServer.start(.init(password: "s3cret"))
        defer { server.stop() }
        let none = try RedisClient(testing: server.url)
        defer { none.close() }
        let missing = await #expect(throws: SessionError.self) { try await none.send("PING") }
        #expect(missing?.code == .authenticationFailed)
        #expect(missing?.message.contains("requires a password") == true)
        let wrong = try RedisClient(testing: "redis://:nope@127.0.0.1:\(server.port)")
        defer { wrong.close() }
        let refused = await #expect(throws: SessionError.self) { try await wrong.send("PING") }
        #expect(refused?.code == .authenticationFailed)
        #expect(refused?.message.contains("nope") == false, "the password is not echoed")
        let right = try RedisClient(testing: "redis://:s3cret@127.0.0.1:\(server.port)/2")
        defer { right.close() }
        #expect(try await right.send("PING") == .simpleString("PONG"))
        let unix = try RedisClient(testing: server.unixURL + "?password=s3cret")
        defer { unix.close() }
        #expect(try await unix.send("PING") == .simpleString("PONG"))
    }

    @Test("ACL users authenticate with HELLO AUTH user pass")
    func aclUser() async throws {
        let server = try await RedisServer.start(.init(password: "adminpw", users: [("alice", "wonderland")]))
        defer { server.stop() }
        let alice = try RedisClient(testing: "redis://alice:wonderland@127.0.0.1:\(server.port)")
        defer { alice.close() }
        #expect(try await alice.send("ACL", "WHOAMI").string == "alice")
        let bad = try RedisClient(testing: "redis://alice:wrong@127.0.0.1:\(server.port)")
        defer { bad.close() }
        let error = await #expect(throws: SessionError.self) { try await bad.send("PING") }
        #expect(error?.code == .authenticationFailed)
    }

    @Test("a server without HELLO falls back to RESP2 with AUTH and SELECT")
    func helloFallback() async throws {
        let server = try await RedisServer.start(.init(password: "pw", users: [("bob", "builder")], extraArguments: ["--rename-command", "HELLO", ""]))
        defer { server.stop() }
        let client = try RedisClient(testing: "redis://:pw@127.0.0.1:\(server.port)/3")
        defer { client.close() }
        let info = try await client.send("CLIENT", "INFO").string ?? ""
        #expect(info.contains("resp=2"))
        #expect(info.contains("db=3"))
        #expect(info.contains("name=SessionKit"))
        let bob = try RedisClient(testing: "redis://bob:builder@127.0.0.1:\(server.port)")
        defer { bob.close() }
        #expect(try await bob.send("ACL", "WHOAMI").string == "bob")
        let wrong = try RedisClient(testing: "redis://:wrong@127.0.0.1:\(server.port)")
        defer { wrong.close() }
        let error = await #expect(throws: SessionError.self) { try await wrong.send("PING") }
        #expect(error?.code == .authenticationFailed)
    }

    @Test("a database the server does not have is a clear configuration error")
    func badDatabase() async throws {
        let server = try await SharedRedis.get()
        let client = try RedisClient(testing: server.url + "/999")
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("SELECT 999") == true)
    }
}
