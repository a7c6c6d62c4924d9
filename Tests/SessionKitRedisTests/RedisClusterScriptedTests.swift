import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Synchronization
import Testing

/// Cluster client paths that a real cluster does not show on demand: servers before 7.0,
/// endless redirections, TRYAGAIN and CLUSTERDOWN, the ASKING framing.
@Suite("Redis Cluster client against a scripted node")
struct RedisClusterScriptedTests {
    /// A one-node "cluster": `CLUSTER SLOTS` (or `SHARDS`) says the node serves every slot.
    static func node(shards: Bool, _ script: @escaping @Sendable (_ command: [String], _ port: Int) -> [UInt8]?) throws -> ScriptedServer {
        let port = Mutex(0)
        let server = try ScriptedServer { command, _ in
            let me = port.withLock { $0 }
            switch (command.first, command.dropFirst().first) {
            case ("HELLO", _): return ScriptedServer.hello
            case ("CLUSTER", "SHARDS"):
                guard shards else { return [UInt8](resp: "-ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.\r\n") }
                return [UInt8](resp: "*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%4\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n:\(me)\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n")
            case ("CLUSTER", "SLOTS"):
                return [UInt8](resp: "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:\(me)\r\n")
            default:
                return script(command, me)
            }
        }
        port.withLock { $0 = server.port }
        return server
    }

    static func client(_ server: ScriptedServer, _ edit: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(testing: "redis+cluster://127.0.0.1:\(server.port)")
        configuration.reconnectDelay = .milliseconds(5)
        configuration.maxReconnectDelay = .milliseconds(20)
        edit(&configuration)
        return try RedisClient(configuration: configuration)
    }

    @Test("a node before 7.0 (no CLUSTER SHARDS) is read with CLUSTER SLOTS")
    func slotsFallback() async throws {
        let server = try Self.node(shards: false) { _, _ in [UInt8](resp: "$2\r\nok\r\n") }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        #expect(try await client.send("GET", "k") == .bulkString(Array("ok".utf8)))
        let names = server.commands.map { $0.prefix(2).joined(separator: " ") }
        #expect(names.contains("CLUSTER SHARDS") && names.contains("CLUSTER SLOTS"))
        #expect(client.statistics.topologyRefreshes == 1)
    }

    @Test("TRYAGAIN and CLUSTERDOWN are retried with backoff")
    func retries() async throws {
        let gets = Mutex(0)
        let server = try Self.node(shards: true) { command, _ in
            guard command.first == "GET" else { return [UInt8](resp: "+OK\r\n") }
            switch gets.withLock({ $0 += 1; return $0 }) {
            case 1: return [UInt8](resp: "-TRYAGAIN Multiple keys request during rehashing of slot\r\n")
            case 2: return [UInt8](resp: "-CLUSTERDOWN The cluster is down\r\n")
            default: return [UInt8](resp: "$2\r\nok\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        #expect(try await client.send("GET", "k") == .bulkString(Array("ok".utf8)))
        #expect(gets.withLock { $0 } == 3)
        #expect(client.statistics.retries == 2)
    }

    @Test("redirections are bounded by maxRedirections")
    func boundedRedirections() async throws {
        let server = try Self.node(shards: true) { command, port in
            command.first == "GET" ? [UInt8](resp: "-MOVED 866 127.0.0.1:\(port)\r\n") : [UInt8](resp: "+OK\r\n")
        }
        defer { server.stop() }
        let client = try Self.client(server) { $0.maxRedirections = 3 }
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
        #expect(error?.message.contains("MOVED") == true)
        #expect(server.commands.filter { $0.first == "GET" }.count == 4)
        #expect(client.statistics.movedRedirections == 3)
    }

    @Test("ASK: ASKING goes right before the command, and the slot map stays")
    func ask() async throws {
        let gets = Mutex(0)
        let server = try Self.node(shards: true) { command, port in
            switch command.first {
            case "GET":
                return gets.withLock({ $0 += 1; return $0 }) == 1
                    ? [UInt8](resp: "-ASK 866 :\(port)\r\n") : [UInt8](resp: "$2\r\nok\r\n")
            default: return [UInt8](resp: "+OK\r\n")
            }
        }
        defer { server.stop() }
        let client = try Self.client(server)
        defer { client.close() }
        #expect(try await client.send("GET", "k") == .bulkString(Array("ok".utf8)))
        let names = server.commands.map { $0[0] }.filter { $0 == "GET" || $0 == "ASKING" }
        #expect(names == ["GET", "ASKING", "GET"])
        #expect(client.statistics.askRedirections == 1)
        #expect(client.statistics.movedRedirections == 0)
        #expect(client.statistics.topologyRefreshes == 1, "ASK does not refresh the map")
    }
}
