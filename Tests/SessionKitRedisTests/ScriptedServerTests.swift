import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Synchronization
@_spi(Engine) import SessionKitNetworking
import Testing

@Suite("Redis client against a scripted server")
struct ScriptedServerTests {
    static func client(_ server: ScriptedServer, _ edit: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(testing: server.url)
        configuration.connectionCount = 1
        configuration.reconnectDelay = .milliseconds(5)
        configuration.maxReconnectDelay = .milliseconds(20)
        edit(&configuration)
        return try RedisClient(configuration: configuration)
    }

    @Test("LOADING is retried with backoff until the server is ready")
    func loadingIsRetried() async throws {
        let gets = Mutex(0)
        let server = try ScriptedServer { command, _ in
            switch command.first {
            case "HELLO": return ScriptedServer.hello
            case "GET":
                let n = gets.withLock { $0 += 1; return $0 }
                return n <= 2 ? [UInt8](resp: "-LOADING Redis is loading the dataset in memory\r\n") : [UInt8](resp: "$2\r\nok\r\n")
            default: return [UInt8](resp: "+OK\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        #expect(try await client.send("GET", "k") == .bulkString(Array("ok".utf8)))
        #expect(gets.withLock { $0 } == 3)
    }

    @Test("LOADING that never ends becomes storeUnavailable after maxRetries")
    func loadingForever() async throws {
        let server = try ScriptedServer { command, _ in
            command.first == "HELLO" ? ScriptedServer.hello : [UInt8](resp: "-LOADING still loading\r\n")
        }
        defer { server.stop() }
        let client = try Self.client(server) { $0.maxRetries = 2 }
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("LOADING") == true)
        #expect(server.commands.filter { $0.first == "GET" }.count == 3)
    }

    @Test("NOPROTO falls back to RESP2: AUTH user pass, CLIENT SETNAME, SELECT")
    func noproto() async throws {
        let server = try ScriptedServer { command, _ in
            switch command.first {
            case "HELLO": return [UInt8](resp: "-NOPROTO unsupported protocol version\r\n")
            case "AUTH", "SELECT", "CLIENT": return [UInt8](resp: "+OK\r\n")
            case "PING": return [UInt8](resp: "+PONG\r\n")
            default: return [UInt8](resp: "-ERR unexpected\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server) {
            $0.username = "app"
            $0.password = "pw"
            $0.database = 2
        }
        defer { client.close() }
        #expect(try await client.send("PING") == .simpleString("PONG"))
        #expect(server.commands == [
            ["HELLO", "3", "AUTH", "app", "pw", "SETNAME", "SessionKit"],
            ["AUTH", "app", "pw"],
            ["CLIENT", "SETNAME", "SessionKit"],
            ["SELECT", "2"],
            ["PING"],
        ])
    }

    @Test("a malformed reply fails the command with protocolError; the client reconnects", arguments: [
        "?garbage\r\n", "$-5\r\n", ":12x\r\n", "*1\r\n$3\r\nabcd\r\n", "$9999999999999\r\n",
        String(repeating: "*1\r\n", count: 200),
    ])
    func malformedReply(_ reply: String) async throws {
        let server = try ScriptedServer { command, connection in
            switch command.first {
            case "HELLO": return ScriptedServer.hello
            case "GET": return connection == 1 ? [UInt8](resp: reply) : [UInt8](resp: "$4\r\nfine\r\n")
            default: return [UInt8](resp: "+OK\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        try await withDeadline(.seconds(60), "malformed reply") {
            let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
            #expect(error?.code == .protocolError || error?.code == .unsupported, "\(String(describing: error))")
            // The client reconnects to the scripted server: retried until it answers.
            let value = try await Poll.retrying("a GET after the malformed reply", every: .milliseconds(10)) { try await client.send("GET", "k") }
            #expect(value == .bulkString(Array("fine".utf8)))
            #expect(server.connections == 2)
        }
    }

    @Test("an unsolicited extra reply closes the connection instead of shifting replies")
    func unsolicitedReply() async throws {
        let server = try ScriptedServer { command, connection in
            switch command.first {
            case "HELLO": return ScriptedServer.hello
            case "ECHO": return [UInt8](resp: "$\(command[1].utf8.count)\r\n\(command[1])\r\n") + (connection == 1 && command[1] == "first" ? [UInt8](resp: "+INJECTED\r\n") : [])
            default: return [UInt8](resp: "+OK\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        try await withDeadline(.seconds(60), "unsolicited reply") {
            let first = try await client.send("ECHO", "first")
            #expect(first.string == "first")
            // The injected reply must never be taken as the answer to a later command.
            for i in 0..<20 {
                if let reply = try? await client.send("ECHO", RedisArgument("next-\(i)")) {
                    #expect(reply.string == "next-\(i)")
                }
            }
            #expect(server.connections >= 2, "the connection that carried the extra reply was dropped")
        }
    }

    @Test("out-of-order deadlines on one connection: each command times out at its own deadline, never before")
    func mixedDeadlines() async throws {
        // A server that answers nothing but sends push frames now and then.
        let server = try ScriptedServer(heartbeat: true) { _, _ in [] }
        defer { server.stop() }
        // Stall detection off: on a loaded machine the heartbeat may be late, and this test is
        // about each deadline, not about stalls (NetworkStoreFaultTests.stalledServer covers those).
        let connection = RedisConnection(address: "scripted", loop: .shared, configuration: RedisConfiguration(commandTimeout: .seconds(1), maxPendingCommandsPerConnection: 100),
                                         faults: ConnectionFaults(closesStalledConnections: false))
        try await connection.open(endpoint: .tcp(host: "127.0.0.1", port: server.port), timeout: .seconds(10))
        defer { connection.close(reason: SessionError(.storeUnavailable, "test over")) }
        let delays: [Int] = [400, 100, 250, 50, 300]
        try await withDeadline(.seconds(60), "mixed deadlines") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for delay in delays {
                    group.addTask {
                        let deadline = Deadline.after(.milliseconds(delay))
                        do {
                            _ = try await connection.send(["GET", RedisArgument("k\(delay)")], deadline: deadline)
                            Issue.record("a command to a silent server returned")
                        } catch let error as SessionError {
                            #expect(error.code == .timeout, "\(error)")
                            #expect(Deadline.now() >= deadline, "the \(delay) ms deadline fired early")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(!connection.isClosed, "timeouts alone do not close a connection that shows signs of life")
        #expect(connection.pushFramesSkipped > 0)
    }

    /// A server that keeps sending bytes, one every 2 ms, of a reply far too large to finish:
    /// every read shows the connection alive, but the oldest command's reply cannot arrive in
    /// time, and every later reply waits behind it.
    @Test("a connection whose oldest command is past its deadline is closed even while bytes trickle in")
    func tricklingReplyTimesOutAndCloses() async throws {
        let server = try ScriptedServer(trickle: (command: "GET", pause: .milliseconds(2))) { command, _ in
            command.first == "GET" ? [UInt8](resp: "$1000000\r\n") + [UInt8](repeating: 0x61, count: 1_000_000) + [UInt8](resp: "\r\n") : [UInt8](resp: "+PONG\r\n")
        }
        defer { server.stop() }
        let connection = RedisConnection(address: "scripted", loop: .shared, configuration: RedisConfiguration(commandTimeout: .milliseconds(300)))
        try await connection.open(endpoint: .tcp(host: "127.0.0.1", port: server.port), timeout: .seconds(10))
        defer { connection.close(reason: SessionError(.storeUnavailable, "test over")) }
        try await withDeadline(.seconds(60), "trickling reply") {
            let get = Task { try await connection.send(["GET", "big"], deadline: .after(.milliseconds(300))) }
            try await Poll.until("GET is written") { connection.commandsWritten == 1 }
            // Queued behind GET (or, if GET already failed, refused by the closed connection).
            let ping = Task { try await connection.send(["PING"], deadline: .after(.seconds(30))) }
            let getError = await #expect(throws: SessionError.self) { try await get.value }
            #expect(getError?.code == .timeout, "\(String(describing: getError))")
            // Closed in the same step that failed the command, before its caller resumed.
            #expect(connection.isClosed, "the connection was closed as stalled")
            let pingError = await #expect(throws: SessionError.self) { try await ping.value }
            #expect(pingError?.code == .timeout || pingError?.code == .storeUnavailable, "\(String(describing: pingError))")
            try await Poll.until("the server sees the connection closed") { server.peerClosedWhileTrickling == 1 }
        }
        #expect(server.trickled > 0, "bytes trickled in while the command waited")
        #expect(server.commands.first == ["GET", "big"])
    }

    @Test("a server closing the connection mid-handshake is storeUnavailable, then fail-fast")
    func closesDuringHandshake() async throws {
        let server = try ScriptedServer { _, _ in nil }
        defer { server.stop() }
        let client = try Self.client(server) {
            $0.reconnectDelay = .seconds(5)
            $0.maxReconnectDelay = .seconds(5)
        }
        defer { client.close() }
        let first = await #expect(throws: SessionError.self) { try await client.send("PING") }
        #expect(first?.code == .storeUnavailable)
        let second = await #expect(throws: SessionError.self) { try await client.send("PING") }
        #expect(second?.message.contains("Failing fast") == true)
        #expect(server.connections == 1)
    }
}
