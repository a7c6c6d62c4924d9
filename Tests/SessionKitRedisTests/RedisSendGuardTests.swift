import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// `RedisClient.send` shares connections between callers, so commands that suppress, add or
/// re-scope replies are refused; these tests check that, and show (with a client built without
/// the guard) that such a command really hands one caller another caller's session.
@Suite("RedisClient.send keeps reply order on shared connections", .needsRedis, .serialized)
struct RedisSendGuardTests {
    /// Every command `send` refuses, in various cases, with plausible arguments.
    static let refused: [[RedisArgument]] = [
        ["SUBSCRIBE", "news"], ["subscribe", "news"], ["PSUBSCRIBE", "n*"], ["SSUBSCRIBE", "news"],
        ["UNSUBSCRIBE"], ["punsubscribe"], ["SUNSUBSCRIBE", "news"],
        ["MONITOR"], ["Monitor"], ["SYNC"], ["PSYNC", "?", "-1"], ["REPLCONF", "listening-port", "6380"],
        ["CLIENT", "REPLY", "OFF"], ["client", "reply", "skip"], ["Client", "Reply", "On"],
        ["CLIENT", "TRACKING", "ON"], ["client", "tracking", "on", "BCAST"], ["CLIENT", "caching", "yes"],
        ["RESET"], ["QUIT"], ["HELLO", "3"], ["hello", "2"], ["AUTH", "secret"], ["auth", "user", "secret"],
        ["SELECT", "1"], ["select", "0"],
        ["MULTI"], ["exec"], ["DISCARD"], ["WATCH", "k"], ["UNWATCH"],
        ["READONLY"], ["readwrite"], ["ASKING"],
        ["BLPOP", "k", "0"], ["BRPOP", "k", "0"], ["BRPOPLPUSH", "a", "b", "0"], ["blmove", "a", "b", "LEFT", "RIGHT", "0"],
        ["BLMPOP", "0", "1", "k", "LEFT"], ["BZPOPMIN", "z", "0"], ["BZPOPMAX", "z", "0"], ["BZMPOP", "0", "1", "z", "MIN"],
        ["WAIT", "1", "0"], ["WAITAOF", "1", "0", "0"],
        ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], ["xreadgroup", "GROUP", "g", "c", "block", "0", "STREAMS", "s", ">"],
    ]

    static let sessionCount = 200
    static let loadCount = 10_000

    /// 200 sessions with distinct values, stored under fresh keys.
    static func storeSessions(_ client: RedisClient) async throws -> [(key: String, value: String)] {
        let run = UUID().uuidString
        let sessions = (0..<sessionCount).map { (key: "guard:\(run):\($0)", value: "session-\($0)-\(run)") }
        for session in sessions {
            try await client.send("SET", RedisArgument(session.key), RedisArgument(session.value), "EX", 600)
        }
        return sessions
    }

    struct Outcome: Sendable {
        /// Loads that got their own session.
        var own = 0
        /// Loads that got another session's value: one user shown another user's session.
        var foreign = 0
        /// Loads that got something else (a reply of another command).
        var other = 0
        /// Loads that failed.
        var failed = 0
    }

    /// `loadCount` concurrent GETs of the sessions, each checked against the key it asked for.
    ///
    /// - Parameters:
    ///   - written: when given, `afterWrites` runs once the client's `commandsWritten` reached it
    ///     (every load written), before any result is collected; the control tests use it to
    ///     send commands that go out after all the loads.
    static func load(_ client: RedisClient, _ sessions: [(key: String, value: String)],
                     whenAllWritten written: Int? = nil, _ afterWrites: @Sendable () async throws -> Void = {}) async throws -> Outcome {
        let values = Set(sessions.map(\.value))
        return try await withThrowingTaskGroup(of: (String, Result<RESPValue, any Error>).self) { group in
            for index in 0..<loadCount {
                let session = sessions[index % sessions.count]
                group.addTask {
                    do {
                        return (session.value, .success(try await client.send("GET", RedisArgument(session.key))))
                    } catch {
                        return (session.value, .failure(error))
                    }
                }
            }
            if let written {
                try await gate("all \(written) commands written") { client.commandsWritten >= written }
                try await afterWrites()
            }
            var outcome = Outcome()
            for try await (expected, result) in group {
                switch result {
                case .success(let reply):
                    let text = reply.string
                    if text == expected { outcome.own += 1 } else if let text, values.contains(text) { outcome.foreign += 1 } else { outcome.other += 1 }
                case .failure:
                    outcome.failed += 1
                }
            }
            return outcome
        }
    }

    static func client(_ server: RedisServer, _ version: RedisConfiguration.ProtocolVersion, policy: RedisCommandPolicy = .sharedConnection) throws -> RedisClient {
        var configuration = SharedRedis.configuration(server)
        configuration.connectionCount = 1  // every command on one connection: a shift would hit every later load
        configuration.protocolVersion = version
        return try RedisClient(configuration: configuration, group: .shared(count: 1), commandPolicy: policy)
    }

    @Test("every refused command is refused before a byte is written, then 10,000 concurrent loads get their own sessions",
          arguments: [RedisConfiguration.ProtocolVersion.resp2, .resp3])
    func refusedCommandsLeaveTheConnectionInStep(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let server = try await SharedRedis.get()
        let client = try Self.client(server, version)
        defer { client.close() }
        let sessions = try await Self.storeSessions(client)
        let written = client.writeStatistics
        for command in Self.refused {
            let name = command.prefix(2).map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: " ")
            let error = await #expect(throws: SessionError.self, "\(name)") { try await client.send(command) }
            #expect(error?.code == .unsupported, "\(name): \(String(describing: error))")
            let upper = String(decoding: command[0].bytes, as: UTF8.self).uppercased()
            #expect(error?.message.contains(upper) == true, "the message names the command: \(String(describing: error))")
            #expect(error?.message.contains("Nothing was sent") == true, "\(String(describing: error))")
        }
        #expect(client.writeStatistics.calls == written.calls && client.writeStatistics.bytes == written.bytes,
                "not one byte was written for a refused command")
        let outcome = try await Self.load(client, sessions)
        #expect(outcome.own == Self.loadCount, "\(outcome)")
    }

    @Test("commands that leave the connection as it was still go out")
    func harmlessCommandsAreSent() async throws {
        let server = try await SharedRedis.get()
        let client = try Self.client(server, .resp3)
        defer { client.close() }
        let key = "guard:allowed:\(UUID())"
        #expect(try await client.send("client", "setname", "guarded") == .simpleString("OK"))
        #expect(try await client.send("CLIENT", "INFO").string?.contains("name=guarded") == true)
        #expect(try await client.send("CLIENT", "ID").integer != nil)
        // Command words as keys or values are data, not commands.
        try await client.send("SET", RedisArgument(key), "SUBSCRIBE")
        #expect(try await client.send("GET", RedisArgument(key)).string == "SUBSCRIBE")
        try await client.send("XADD", RedisArgument(key + ":s"), "*", "f", "v")
        // XREAD without BLOCK, and a stream whose name is BLOCK (after STREAMS), go out.
        let read = try await client.send("XREAD", "COUNT", "1", "STREAMS", RedisArgument(key + ":s"), "0")
        #expect(read != .null)
        #expect(try await client.send("XREAD", "STREAMS", "BLOCK", "0") == .null)
        try await client.send("DEL", RedisArgument(key), RedisArgument(key + ":s"))
    }

    /// The control: without the guard, `CLIENT REPLY SKIP` (no reply for itself nor for the next
    /// command) makes every later load receive the reply meant for the load two places later.
    @Test("control: without the guard, CLIENT REPLY SKIP hands loads other users' sessions", arguments: [RedisConfiguration.ProtocolVersion.resp2, .resp3])
    func controlClientReplySkipMisroutes(_ version: RedisConfiguration.ProtocolVersion) async throws {
        let server = try await SharedRedis.get()
        let control = try Self.client(server, version, policy: .unrestricted)
        defer { control.close() }
        let sessions = try await Self.storeSessions(control)
        let before = control.commandsWritten
        let skip = Task { try await control.send("CLIENT", "REPLY", "SKIP") }
        try await gate("CLIENT REPLY SKIP written") { control.commandsWritten == before + 1 }
        let outcome = try await Self.load(control, sessions, whenAllWritten: before + 1 + Self.loadCount) {
            // Two more replies, for the two the server leaves out, so that every load is answered.
            for _ in 0..<2 { Task { try? await control.send("PING") } }
        }
        control.close()  // fails the PINGs, which no reply is left for
        _ = await skip.result
        #expect(outcome.foreign > 0, "some load received another session's value: \(outcome)")
        #expect(outcome.own < Self.loadCount, "\(outcome)")
    }

    /// Under RESP3 the reply to SUBSCRIBE is a push frame, which is never matched to a command:
    /// without the guard the SUBSCRIBE would wait for the next caller's reply. The connection
    /// sees the pub/sub push and closes instead, so nobody gets another's reply.
    @Test("without the guard, SUBSCRIBE under RESP3 closes the connection instead of shifting replies")
    func subscribePushClosesTheConnection() async throws {
        let server = try await SharedRedis.get()
        let control = try Self.client(server, .resp3, policy: .unrestricted)
        defer { control.close() }
        let sessions = try await Self.storeSessions(control)
        let error = await #expect(throws: SessionError.self) { try await control.send("SUBSCRIBE", "guard-news") }
        #expect(error?.code == .protocolError, "\(String(describing: error))")
        let outcome = try await Self.load(control, sessions)
        #expect(outcome.own == Self.loadCount, "\(outcome)")
    }

    @Test("pub/sub pushes are told apart from other pushes")
    func pubSubPushKinds() {
        for kind in ["subscribe", "PSUBSCRIBE", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "message", "pmessage", "smessage"] {
            #expect(RedisCodec.pubSubKind(of: [.bulkString(Array(kind.utf8)), .bulkString([0x61]), .integer(1)]) == kind.lowercased())
            #expect(RedisCodec.pubSubKind(of: [.simpleString(kind)]) == kind.lowercased())
        }
        #expect(RedisCodec.pubSubKind(of: [.bulkString(Array("invalidate".utf8)), .array([])]) == nil)
        #expect(RedisCodec.pubSubKind(of: []) == nil)
        #expect(RedisCodec.pubSubKind(of: [.integer(1)]) == nil)
    }

    @Test("refusals match names and subcommands in any case, and nothing else")
    func refusalMatching() {
        for command in Self.refused {
            #expect(RedisCommandPolicy.refusal(for: command) != nil, "\(command)")
        }
        let allowed: [[RedisArgument]] = [
            ["GET", "subscribe"], ["CLIENT", "SETNAME", "x"], ["client", "info"], ["CLIENT"], ["XREAD", "STREAMS", "BLOCK", "0"],
            ["XREAD", "COUNT", "1", "STREAMS", "s", "0"], ["EVAL", "return 1", "0"], ["SUBSCRIBE!"], ["PUBLISH", "news", "hi"], [],
        ]
        for command in allowed {
            #expect(RedisCommandPolicy.refusal(for: command) == nil, "\(command)")
            #expect(throws: Never.self) { try RedisCommandPolicy.sharedConnection.check(command) }
        }
        #expect(throws: Never.self) { try RedisCommandPolicy.unrestricted.check(["CLIENT", "REPLY", "OFF"]) }
    }
}

/// Waits, yielding, until `condition` holds: a gate on an observable state, bounded so that a
/// broken client fails the test instead of hanging it (the bound is not a timing assertion).
func gate(_ what: String, within limit: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: limit)
    while !condition() {
        guard clock.now < end else { throw FixtureError("\(what) did not happen within \(limit)") }
        await Task.yield()
    }
}
