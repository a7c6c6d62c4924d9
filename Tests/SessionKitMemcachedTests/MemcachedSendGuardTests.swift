import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// `MemcachedClient.send` shares connections between callers, so the meta flags that suppress
/// replies (`q`) or that the client uses to match them (`O`) are refused, and meta replies are
/// matched by kind and opaque token. These tests check that, and show with clients built without
/// the guard (and without the matching) what a quiet command does to other callers.
@Suite("MemcachedClient.send keeps reply order on shared connections", .needsMemcached, .serialized)
struct MemcachedSendGuardTests {
    static let sessionCount = 200
    static let loadCount = 10_000

    /// Every command with a flag `send` refuses.
    static let refused: [MemcachedCommand] = [
        .metaGet(key: "k", flags: ["q"]), .metaGet(key: "k", flags: ["v", "q"]), .metaGet(key: "k", flags: ["v", "t", "q"]),
        .metaSet(key: "k", value: bytes("x"), flags: ["q"]), .metaSet(key: "k", value: bytes("x"), flags: ["T60", "q"]),
        .metaDelete(key: "k", flags: ["q"]),
        .metaGet(key: "k", flags: ["v", "O1"]), .metaGet(key: "k", flags: ["Oabc"]),
        .metaSet(key: "k", value: bytes("x"), flags: ["O7"]), .metaDelete(key: "k", flags: ["O9", "q"]),
    ]

    static func client(_ server: MemcachedServer, policy: MemcachedCommandPolicy = .sharedConnection) throws -> MemcachedClient {
        var configuration = try MemcachedConfiguration(testing: server.url)
        configuration.connectionsPerServer = 1  // every command on one connection: a shift would hit every later load
        return try MemcachedClient(configuration: configuration, group: .shared(count: 1), commandPolicy: policy)
    }

    /// 200 sessions with distinct values, stored under fresh keys.
    static func storeSessions(_ client: MemcachedClient) async throws -> [(key: String, value: [UInt8])] {
        let run = UUID().uuidString
        let sessions = (0..<sessionCount).map { (key: "guard:\(run):\($0)", value: bytes("session-\($0)-\(run)")) }
        for session in sessions { try await client.set(session.key, value: session.value, ttl: 600) }
        return sessions
    }

    struct Outcome: Sendable {
        /// Loads that got their own session.
        var own = 0
        /// Loads that got another session's value: one user shown another user's session.
        var foreign = 0
        /// Loads that got something else.
        var other = 0
        /// Loads that failed.
        var failed = 0
        /// The codes of the failures.
        var failures: Set<String> = []
    }

    /// `loadCount` concurrent loads of the sessions (meta gets, and every fourth a classic get),
    /// each checked against the key it asked for.
    ///
    /// - Parameters:
    ///   - metaOnly: only meta gets (`mg <key> v`).
    ///   - written: when given, `afterWrites` runs once the client's `commandsWritten` reached it
    ///     (every load written), before any result is collected.
    static func load(_ client: MemcachedClient, _ sessions: [(key: String, value: [UInt8])], metaOnly: Bool = false,
                     whenAllWritten written: Int? = nil, _ afterWrites: @Sendable () async throws -> Void = {}) async throws -> Outcome {
        let values = Set(sessions.map(\.value))
        return try await withThrowingTaskGroup(of: ([UInt8], Result<[UInt8]?, any Error>).self) { group in
            for index in 0..<loadCount {
                let session = sessions[index % sessions.count]
                group.addTask {
                    do {
                        if !metaOnly && index % 4 == 3 {
                            return (session.value, .success(try await client.get(session.key)?.value))
                        }
                        let reply = try await client.send(.metaGet(key: session.key, flags: ["v"]))
                        guard case .meta(let meta) = reply else { return (session.value, .success(nil)) }
                        return (session.value, .success(meta.value))
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
                case .success(let value):
                    if value == expected { outcome.own += 1 } else if let value, values.contains(value) { outcome.foreign += 1 } else { outcome.other += 1 }
                case .failure(let error):
                    outcome.failed += 1
                    outcome.failures.insert((error as? SessionError).map { "\($0.code)" } ?? "\(type(of: error))")
                }
            }
            return outcome
        }
    }

    @Test("meta flags q and O are refused before a byte is written, then 10,000 concurrent loads get their own sessions")
    func refusedFlagsLeaveTheConnectionInStep() async throws {
        let server = try await SharedMemcached.get()
        let client = try Self.client(server)
        defer { client.close() }
        let sessions = try await Self.storeSessions(client)
        let written = client.writeStatistics
        for command in Self.refused {
            let error = await #expect(throws: SessionError.self, "\(command)") { try await client.send(command) }
            #expect(error?.code == .unsupported, "\(command): \(String(describing: error))")
            #expect(error?.message.contains(command.name) == true, "the message names the command: \(String(describing: error))")
            #expect(error?.message.contains("Leave") == true, "the message says what to do instead: \(String(describing: error))")
        }
        #expect(client.writeStatistics.calls == written.calls && client.writeStatistics.bytes == written.bytes,
                "not one byte was written for a refused command")
        let outcome = try await Self.load(client, sessions)
        #expect(outcome.own == Self.loadCount, "\(outcome)")
    }

    @Test("meta commands still work, and the client's opaque token does not show in the replies")
    func metaCommandsWork() async throws {
        let server = try await SharedMemcached.get()
        let client = try Self.client(server)
        defer { client.close() }
        let key = "guard:meta:\(UUID())"
        #expect(try await client.send(.metaSet(key: key, value: bytes("hello"), flags: ["T60"])) == .meta(MemcachedMetaReply(status: .headerOnly)))
        #expect(try await client.send(.metaGet(key: key, flags: ["v"])) == .meta(MemcachedMetaReply(status: .value, value: bytes("hello"))))
        #expect(try await client.send(.metaGet(key: key, flags: ["k"])) == .meta(MemcachedMetaReply(status: .headerOnly, flags: ["k" + key])))
        #expect(try await client.send(.metaSet(key: key, value: bytes("x"), flags: ["C1"])) == .meta(MemcachedMetaReply(status: .exists)))
        #expect(try await client.send(.metaDelete(key: key, flags: [])) == .meta(MemcachedMetaReply(status: .headerOnly)))
        #expect(try await client.send(.metaDelete(key: key, flags: [])) == .meta(MemcachedMetaReply(status: .notFound)))
        // A miss echoes k (and the opaque token): EN with flags parses.
        #expect(try await client.send(.metaGet(key: key, flags: ["v", "k"])) == .meta(MemcachedMetaReply(status: .end, flags: ["k" + key])))
        #expect(try await client.send(.metaSet(key: key, value: bytes("x"), flags: ["MR"])) == .meta(MemcachedMetaReply(status: .notStored)))
        #expect(try await client.send(.metaNoop) == .meta(MemcachedMetaReply(status: .noop)))
    }

    @Test("a meta reply of the wrong kind, or without its command's opaque token, is refused")
    func metaReplyMatching() {
        func meta(_ status: MemcachedMetaReply.Status, _ flags: [String]) -> MemcachedReply { .meta(MemcachedMetaReply(status: status, flags: flags)) }
        let get = ReplyExpectation.meta(.get, opaque: "O5")
        #expect(get.accepts(meta(.value, ["O5"])))
        #expect(get.accepts(meta(.end, ["O5"])))
        #expect(get.accepts(meta(.headerOnly, ["t10", "O5"])))
        #expect(!get.accepts(meta(.value, ["O6"])), "another command's token")
        #expect(!get.accepts(meta(.value, [])), "no token")
        #expect(!get.accepts(meta(.value, ["O5", "O5"])), "two tokens")
        #expect(!get.accepts(meta(.notStored, ["O5"])), "an ms status")
        #expect(!get.accepts(meta(.noop, [])), "an mn reply")
        #expect(!get.accepts(.stored), "a classic reply")
        #expect(get.accepts(.clientError("bad")), "error lines carry no token and end the command")
        let set = ReplyExpectation.meta(.set, opaque: "O1")
        for status in [MemcachedMetaReply.Status.headerOnly, .notStored, .exists, .notFound] { #expect(set.accepts(meta(status, ["O1"]))) }
        for status in [MemcachedMetaReply.Status.value, .end, .noop] { #expect(!set.accepts(meta(status, ["O1"]))) }
        let delete = ReplyExpectation.meta(.delete, opaque: "O2")
        for status in [MemcachedMetaReply.Status.headerOnly, .notFound, .exists] { #expect(delete.accepts(meta(status, ["O2"]))) }
        for status in [MemcachedMetaReply.Status.value, .end, .notStored, .noop] { #expect(!delete.accepts(meta(status, ["O2"]))) }
        let noop = ReplyExpectation.meta(.noop, opaque: nil)
        #expect(noop.accepts(meta(.noop, [])))
        #expect(!noop.accepts(meta(.headerOnly, [])))
    }

    @Test("a miss (EN) may echo the opaque and key flags, and nothing else")
    func missEchoesOpaqueAndKey() throws {
        var parser = MemcachedParser()
        parser.append(bytes("EN O12 kfoo\r\nEN\r\n"))
        #expect(try parser.next() == .meta(MemcachedMetaReply(status: .end, flags: ["O12", "kfoo"])))
        #expect(try parser.next() == .meta(MemcachedMetaReply(status: .end)))
        for hostile in ["EN t5\r\n", "EN O1 v\r\n", "EN extra\r\n"] {
            var parser = MemcachedParser()
            parser.append(bytes(hostile))
            let error = #expect(throws: SessionError.self, "\(hostile.debugDescription)") { try parser.next() }
            #expect(error?.code == .protocolError)
        }
    }

    /// Without the guard but with reply matching, a quiet `mg` of a missing key gets no reply:
    /// the next load's reply arrives for it, carries another token, and the connection is closed.
    /// Loads in flight fail; none gets another session.
    @Test("without the guard, a quiet mg closes the connection instead of shifting replies")
    func quietGetClosesTheConnection() async throws {
        let server = try await SharedMemcached.get()
        let control = try Self.client(server, policy: .unguarded)
        defer { control.close() }
        let sessions = try await Self.storeSessions(control)
        let before = control.commandsWritten
        let quiet = Task { try await control.send(.metaGet(key: "guard:missing:\(UUID())", flags: ["v", "q"])) }
        try await gate("the quiet mg written") { control.commandsWritten == before + 1 }
        let first = try await Self.load(control, sessions, metaOnly: true)
        #expect(first.foreign == 0, "\(first)")
        #expect(first.other == 0, "\(first)")
        #expect(first.own + first.failed == Self.loadCount, "\(first)")
        let error = await #expect(throws: SessionError.self) { try await quiet.value }
        #expect(error?.code == .protocolError, "\(String(describing: error))")
        let again = try await Self.load(control, sessions)
        #expect(again.own == Self.loadCount, "\(again)")
    }

    /// The control: the client as it was (no guard, any meta reply accepted for any meta
    /// command). A quiet `mg` of a missing key gets no reply, so every later `mg` receives the
    /// reply meant for the one after it.
    @Test("control: without the guard and the matching, a quiet mg hands loads other users' sessions")
    func controlQuietGetMisroutes() async throws {
        let server = try await SharedMemcached.get()
        let control = try Self.client(server, policy: .unguardedUnmatched)
        defer { control.close() }
        let sessions = try await Self.storeSessions(control)
        let before = control.commandsWritten
        let quiet = Task { try await control.send(.metaGet(key: "guard:missing:\(UUID())", flags: ["v", "q"])) }
        try await gate("the quiet mg written") { control.commandsWritten == before + 1 }
        let outcome = try await Self.load(control, sessions, metaOnly: true, whenAllWritten: before + 1 + Self.loadCount) {
            // One more reply, for the one the server leaves out, so that every load is answered.
            Task { _ = try? await control.send(.metaNoop) }
        }
        control.close()  // fails the mn, which no reply is left for
        _ = await quiet.result
        #expect(outcome.foreign > 0, "some load received another session's value: \(outcome)")
        #expect(outcome.own < Self.loadCount, "\(outcome)")
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
