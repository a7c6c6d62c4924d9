import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

@Suite("MemcachedClient against a real memcached", .needsMemcached)
struct MemcachedClientTests {
    static func client() async throws -> MemcachedClient {
        try MemcachedClient(testing: try await SharedMemcached.get().url)
    }

    static func unique(_ name: String) -> String { "client:\(name):\(UUID().uuidString.prefix(8))" }

    @Test("set, get, gets, cas, add, touch, gat, delete and multi-get")
    func commands() async throws {
        let memcached = try await Self.client()
        defer { memcached.close() }
        let key = Self.unique("k")
        #expect(try await memcached.get(key) == nil)
        try await memcached.set(key, value: bytes("one"), flags: 42, ttl: 60)
        let item = try #require(try await memcached.get(key))
        #expect(item.value == bytes("one"))
        #expect(item.flags == 42)
        #expect(item.cas == nil)
        let withToken = try #require(try await memcached.gets(key))
        let token = try #require(withToken.cas)
        #expect(try await memcached.compareAndSwap(key, value: bytes("two"), ttl: 60, cas: token) == .stored)
        #expect(try await memcached.compareAndSwap(key, value: bytes("lost"), ttl: 60, cas: token) == .exists, "a stale token loses")
        #expect(try await memcached.get(key)?.value == bytes("two"))
        #expect(try await memcached.add(key, value: bytes("x"), ttl: 60) == false)
        #expect(try await memcached.touch(key, ttl: 100))
        #expect(try await memcached.getAndTouch(key, ttl: 200)?.value == bytes("two"))
        #expect(try await memcached.getsAndTouch(key, ttl: 200)?.cas != nil)
        let other = Self.unique("other")
        try await memcached.set(other, value: bytes("o"), ttl: 60)
        let many = try await memcached.get([key, "missing-\(UUID().uuidString.prefix(6))", other, key])
        #expect(many.count == 2)
        #expect(many[key]?.value == bytes("two"))
        #expect(many[other]?.value == bytes("o"))
        #expect(try await memcached.delete(key))
        #expect(try await memcached.delete(key) == false)
        #expect(try await memcached.touch(key, ttl: 10) == false)
        #expect(try await memcached.compareAndSwap(key, value: bytes("z"), ttl: 60, cas: token) == .notFound)
        #expect(try await memcached.version().hasPrefix("1."))
        let meta = try await memcached.send(.metaGet(key: other, flags: ["v", "t"]))
        guard case .meta(let reply) = meta else { Issue.record("mg answered \(meta)"); return }
        #expect(reply.status == .value)
        #expect(reply.value == bytes("o"))
        #expect(try await memcached.send(.metaNoop) == .meta(MemcachedMetaReply(status: .noop)))
    }

    @Test("TTLs over 30 days are sent as absolute times: the item lives, with the right remaining TTL")
    func longTTL() async throws {
        let memcached = try await Self.client()
        defer { memcached.close() }
        let key = Self.unique("long")
        let ttl = 40 * 86_400
        try await memcached.set(key, value: bytes("v"), ttl: ttl)
        #expect(try await memcached.get(key)?.value == bytes("v"), "not expired at once, as a relative 40-day exptime would be")
        guard case .meta(let reply) = try await memcached.send(.metaGet(key: key, flags: ["t"])), let left = reply.flag("t").flatMap(Int.init) else {
            Issue.record("mg t gave no TTL"); return
        }
        #expect(left > ttl - 120 && left <= ttl + 5, "remaining TTL \(left) s")
        #expect(try await memcached.touch(key, ttl: 400 * 86_400))
        guard case .meta(let touched) = try await memcached.send(.metaGet(key: key, flags: ["t"])), let after = touched.flag("t").flatMap(Int.init) else {
            Issue.record("mg t gave no TTL"); return
        }
        #expect(after > 399 * 86_400, "remaining TTL \(after) s after touch")
        try await memcached.set(key, value: bytes("p"), ttl: nil)
        let permanentReply = try await memcached.send(.metaGet(key: key, flags: ["t"]))
        guard case .meta(let permanent) = permanentReply else {
            Issue.record("mg t of a stored key gave \(permanentReply), not a meta reply")
            return
        }
        #expect(permanent.flag("t") == "-1", "ttl nil is exptime 0: never expires")
    }

    @Test("the item size limit is exact: the largest allowed value is stored, one byte more is refused before sending")
    func sizeLimit() async throws {
        let server = try await MemcachedServer.start(.init(itemSize: "1m"))
        defer { server.stop() }
        let memcached = try MemcachedClient(testing: server.url)
        defer { memcached.close() }
        let key = "size:limit"
        try await memcached.set(key, value: bytes("previous"), ttl: 60)
        let allowed = memcached.configuration.maxItemSize - key.utf8.count - MemcachedClient.itemOverhead
        let sets = Int(try await server.stats()["cmd_set"] ?? "") ?? -1
        let error = await #expect(throws: SessionError.self) {
            try await memcached.set(key, value: [UInt8](repeating: 0x61, count: allowed + 1), ttl: 60)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(Int(try await server.stats()["cmd_set"] ?? "") == sets, "nothing reached the server")
        #expect(try await memcached.get(key)?.value == bytes("previous"), "the stored value is intact")
        let largest = [UInt8](repeating: 0x62, count: allowed)
        try await memcached.set(key, value: largest, flags: 1, ttl: 60)
        #expect(try await memcached.get(key)?.value == largest, "the server accepts the largest value the client allows")
    }

    @Test("an oversized value is refused with valueTooLarge when the server's -I is smaller than maxItemSize")
    func serverSmallerThanClient() async throws {
        let server = try await MemcachedServer.start(.init(itemSize: "512k"))
        defer { server.stop() }
        let memcached = try MemcachedClient(testing: server.url)
        defer { memcached.close() }
        let error = await #expect(throws: SessionError.self) {
            try await memcached.set("k", value: [UInt8](repeating: 1, count: 600 * 1024), ttl: 60)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(error?.message.contains("maxItemSize") == true)
        try await memcached.set("k", value: bytes("still in step"), ttl: 60)
        #expect(try await memcached.get("k")?.value == bytes("still in step"))
    }

    @Test("concurrent commands are pipelined: far fewer writes than commands, every reply to its caller")
    func pipelining() async throws {
        let memcached = try await Self.client()
        defer { memcached.close() }
        let prefix = Self.unique("pipe")
        _ = try await memcached.version()
        let count = 2000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count { group.addTask { try await memcached.set("\(prefix):\(i)", value: bytes("v\(i)"), ttl: 60) } }
            try await group.waitForAll()
        }
        let before = memcached.writeStatistics.calls
        let wrong = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<count { group.addTask { try await memcached.get("\(prefix):\(i)")?.value != bytes("v\(i)") } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wrong == 0)
        let writes = memcached.writeStatistics.calls - before
        #expect(writes < count, "\(writes) writes for \(count) gets")
    }

    @Test("a Unix socket server works")
    func unixSocket() async throws {
        let server = try await MemcachedServer.start(.init(unixSocket: true))
        defer { server.stop() }
        let memcached = try MemcachedClient(testing: server.url)
        defer { memcached.close() }
        try await memcached.set("over-unix", value: bytes("yes"), ttl: 60)
        #expect(try await memcached.get("over-unix")?.value == bytes("yes"))
        // The server's own view, through its LRU crawler (which can lag a moment behind a write).
        try await eventually("the server lists the key") { try await server.allKeys() == ["over-unix"] }
    }

    @Test("a server that is down fails fast with storeUnavailable; the client reconnects once it is back")
    func downAndBack() async throws {
        let server = try await MemcachedServer.start()
        var configuration = try MemcachedConfiguration(testing: server.url).withFastReconnect()
        configuration.connectionsPerServer = 1
        let memcached = try MemcachedClient(configuration: configuration)
        defer { memcached.close() }
        try await memcached.set("k", value: bytes("1"), ttl: 60)
        server.stop()
        for _ in 0..<3 {
            let error = await #expect(throws: SessionError.self) { _ = try await memcached.get("k") }
            #expect(error?.code == .storeUnavailable)
        }
        try await server.restart()
        defer { server.stop() }
        try await eventually("the client reconnects") { (try? await memcached.set("k", value: bytes("2"), ttl: 60)) != nil }
        #expect(try await memcached.get("k")?.value == bytes("2"))
    }

    @Test("a stalled server makes commands fail with timeout at their deadline, then the client recovers")
    func deadline() async throws {
        let server = try await SharedMemcached.get()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(proxy.port)").withFastReconnect()
        configuration.commandTimeout = .milliseconds(300)
        let memcached = try MemcachedClient(configuration: configuration)
        defer { memcached.close() }
        let key = Self.unique("stall")
        // The first command also connects, which may take longer than 300 ms on a loaded machine.
        try await eventually("the first set") { (try? await memcached.set(key, value: bytes("v"), ttl: 60)) != nil }
        proxy.setStalled(true)
        let error = await #expect(throws: SessionError.self) { _ = try await memcached.get(key) }
        #expect(error?.code == .timeout)
        proxy.setStalled(false)
        proxy.resetAllConnections()
        try await eventually("the client answers again") { (try? await memcached.get(key))??.value == bytes("v") }
    }

    @Test("cancelled gets keep their slot: later gets on the same connection get their own values")
    func cancellationKeepsSlot() async throws {
        var configuration = try MemcachedConfiguration(testing: try await SharedMemcached.get().url)
        configuration.connectionsPerServer = 1
        let memcached = try MemcachedClient(configuration: configuration)
        defer { memcached.close() }
        let prefix = Self.unique("cancel")
        for i in 0..<200 { try await memcached.set("\(prefix):\(i)", value: bytes("v\(i)"), ttl: 60) }
        for round in 0..<20 {
            let tasks = (0..<200).map { i in Task { try await memcached.get("\(prefix):\(i)")?.value } }
            for (i, task) in tasks.enumerated() where (i + round) % 3 == 0 { task.cancel() }
            for (i, task) in tasks.enumerated() {
                if case .success(let value) = await task.result {
                    #expect(value == bytes("v\(i)"), "get \(i) in round \(round)")
                }
            }
        }
    }
}
