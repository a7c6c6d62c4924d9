import Foundation
import SessionKit
import SessionKitTestSupport
import Testing

/// Faults injected between each store's client and its real server with ``FaultProxy``, and
/// the server stopped and restarted.
@Suite("Store clients under faults (fault-injecting proxy)", .needsRedis, .needsMemcached, .serialized)
struct NetworkStoreFaultTests {
    /// A value large enough to arrive in many reads, so that a reset can cut its reply.
    static func big(_ suffix: String = "") -> [UInt8] {
        (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) } + Array(suffix.utf8)
    }

    @Test("connection reset mid-reply: a single attempt fails cleanly, a retried get is invisible, the client reconnects", arguments: NetworkStore.allCases)
    func resetMidReply(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try store.client(port: proxy.port, connections: 1)
        defer { client.close() }
        let key = "fault:big:\(UUID())"
        let big = Self.big()
        try await client.set(key, big, ttl: 300)
        try await withDeadline(.seconds(60), "reset mid-reply") {
            proxy.resetMidReply()
            let error = await #expect(throws: SessionError.self) { try await client.getOnce(key) }
            #expect(error?.code == .storeUnavailable, "\(String(describing: error))")
            #expect(proxy.midReplyResets == 1)
            // The next command gets a fresh connection and the whole, right value.
            let value = try await Poll.retrying("a get on a fresh connection") { try await client.getOnce(key) }
            #expect(value == big)
            // A get is sent once more on a fresh connection, invisibly.
            proxy.resetMidReply()
            #expect(try await client.get(key) == big)
            #expect(proxy.midReplyResets == 2)
        }
        try await client.delete(key)
    }

    @Test("resets mid-reply under 20 concurrent gets: each returns its whole value or storeUnavailable, never a partial one", arguments: NetworkStore.allCases)
    func resetMidReplyUnderConcurrentGets(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try store.client(port: proxy.port, connections: 2)
        defer { client.close() }
        let prefix = "fault:mid:\(UUID().uuidString.prefix(8)):"
        for i in 0..<20 { try await client.set(prefix + "\(i)", Self.big("\(i)"), ttl: 300) }
        for round in 0..<5 {
            proxy.resetMidReply()
            let results = await withTaskGroup(of: (Int, Result<[UInt8]?, any Error>).self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do { return (i, .success(try await client.get(prefix + "\(i)"))) } catch { return (i, .failure(error)) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for (i, result) in results {
                switch result {
                case .success(let value): #expect(value == Self.big("\(i)"), "round \(round), key \(i)")
                case .failure(let error): #expect((error as? SessionError)?.code == .storeUnavailable, "\(error)")
                }
            }
            proxy.clearFaults()
        }
        #expect(proxy.midReplyResets >= 1)
        try await Poll.until("the client recovers") { (try? await client.get(prefix + "3")) == Self.big("3") }
    }

    @Test("a stalled server: the deadline fires, the stalled connection is replaced", arguments: NetworkStore.allCases)
    func stalledServer(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try store.client(port: proxy.port, connections: 1, commandTimeout: .milliseconds(300))
        defer { client.close() }
        // Connect first: on a loaded machine the first connect may itself take over 300 ms.
        try await withDeadline(.seconds(60), "first connection") {
            try await Poll.until("the first answer", within: .seconds(60)) { (try? await client.ping()) != nil }
        }
        try await withDeadline(.seconds(60), "stalled server") {
            proxy.setStalled(true)
            // The stall lasts until it is lifted below: only the client's deadline can end
            // this call (a hang is caught by withDeadline).
            let error = await #expect(throws: SessionError.self) { try await client.ping() }
            #expect(error?.code == .timeout, "\(String(describing: error))")
            // Many callers stuck behind the stall all get their deadline, none hangs.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        let error = await #expect(throws: SessionError.self) { try await client.ping() }
                        #expect(error?.code == .timeout || error?.code == .storeUnavailable)
                    }
                }
            }
            proxy.setStalled(false)
            let recovered = try await Poll.holds(within: .seconds(20)) { (try? await client.ping()) != nil }
            #expect(recovered)
        }
    }

    @Test("server restart: calls fail fast while it is down, then the client recovers without hanging", arguments: NetworkStore.allCases)
    func serverRestart(store: NetworkStore) async throws {
        let server = try await store.startServer()
        defer { server.stop() }
        let client = try store.client(port: server.port)
        defer { client.close() }
        try await client.set("k", Array("before".utf8), ttl: 300)
        try await withDeadline(.seconds(60), "restart recovery") {
            server.stop()
            // While down: every call ends quickly with storeUnavailable (or a timeout), none hangs.
            for _ in 0..<20 {
                let error = await #expect(throws: SessionError.self) { try await client.get("k") }
                #expect(error?.code == .storeUnavailable || error?.code == .timeout, "\(String(describing: error))")
            }
            try await server.restart()
            try await Poll.retrying("an answer after the restart") { try await client.ping() }
            // No persistence: the restarted server is empty.
            #expect(try await client.get("k") == nil)
        }
    }

    @Test("connections refused by the proxy fail fast with storeUnavailable; accepted again, the client reconnects", arguments: NetworkStore.allCases)
    func refusedConnections(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try store.client(port: proxy.port, connections: 1)
        defer { client.close() }
        let key = "fault:refused:\(UUID().uuidString.prefix(8))"
        try await withDeadline(.seconds(60), "refused connections") {
            // A client that never connected: every call fails.
            proxy.setRefusing(true)
            for _ in 0..<5 {
                let error = await #expect(throws: SessionError.self) { try await client.ping() }
                #expect(error?.code == .storeUnavailable || error?.code == .timeout, "\(String(describing: error))")
            }
            proxy.setRefusing(false)
            try await Poll.until("the client connects") { (try? await client.ping()) != nil }
            // A connected client whose connection is reset and cannot come back.
            try await client.set(key, Array("v".utf8), ttl: 60)
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
            try await Poll.until("the client reconnects") { (try? await client.get(key)) == Array("v".utf8) }
        }
    }

    @Test("sets interrupted by resets leave either the old or the new value, and the stream stays in step", arguments: NetworkStore.allCases)
    func interruptedSets(store: NetworkStore) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let client = try store.client(port: proxy.port, connections: 2)
        defer { client.close() }
        let key = "fault:set:\(UUID().uuidString.prefix(8))"
        let direct = try store.client(port: server.port)
        defer { direct.close() }
        try await direct.set(key, Array("old".utf8), ttl: 60)
        let values = (0..<50).map { Array("new-\($0)-".utf8) + [UInt8](repeating: 0x78, count: 50_000) }
        // The resets land while the sets are on the wire: after 120 kB and 1 MB of the 2.5 MB
        // they make reached the server (in the middle of the third and of the twentieth value).
        proxy.resetAllConnections(whenClientBytesReach: [120_000, 1_000_000])
        await withTaskGroup(of: Void.self) { group in
            for value in values { group.addTask { try? await client.set(key, value, ttl: 60) } }
        }
        #expect(proxy.progressResets >= 1, "a reset cut the sets in flight (\(proxy.forwardedFromClient) bytes forwarded)")
        let stored = try #require(try await direct.get(key))
        #expect(stored == Array("old".utf8) || values.contains(stored), "the stored value is one whole write")
        // The client through the proxy is in step again: its own reads get whole values.
        try await Poll.until("the client reads the stored value") { (try? await client.get(key)) == stored }
    }

    /// How a late-write check's store saves loaded sessions.
    enum Saves: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// The store's own conditional saves (Redis: the compare-and-set script; memcached: `cas`).
        case conditional
        /// The control: the store behind ``PlainSaveStore``, whose replace is a plain write.
        case plainControl
        var testDescription: String { self == .conditional ? "conditional saves" : "plain saves (control)" }
    }

    @Test("a save abandoned after a timeout and executed later does not overwrite a newer acknowledged save", arguments: NetworkStore.allCases, Saves.allCases)
    func lateSave(store: NetworkStore, saves: Saves) async throws {
        let server = try await store.sharedServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let underTest = try store.sessionStore(port: proxy.port, connections: 1, commandTimeout: .seconds(3))
        defer { underTest.close() }
        let outcome = try await withDeadline(.seconds(60), "late-write check") {
            try await LateWriteCheck.run(store: underTest.store, proxy: proxy, plainWrites: saves == .plainControl)
        }
        print("\(store), \(saves.testDescription): final counter \(String(describing: outcome.finalCounter)), held connections delivered \(outcome.heldConnectionsDelivered)")
        #expect(outcome.abandonedRequestFailed)
        #expect(outcome.heldConnectionsDelivered == 1)
        // With conditional saves the late write finds another version; with plain writes it
        // lands and B's acknowledged save is lost.
        #expect(outcome.finalCounter == .int(saves == .conditional ? 2 : 1), "\(saves)")
    }
}
