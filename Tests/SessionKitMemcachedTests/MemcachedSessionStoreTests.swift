import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

@Suite("MemcachedSessionStore", .needsMemcached)
struct MemcachedSessionStoreTests {
    static let store = Task { () throws -> MemcachedSessionStore in
        try MemcachedSessionStore(testing: try await SharedMemcached.get().url)
    }

    @Test("passes the store conformance suite", arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        try await check.run(try await Self.store.value, time: .serverClock)
    }

    static func ttl(_ store: MemcachedSessionStore, _ key: String) async throws -> Int? {
        guard case .meta(let reply) = try await store.client.send(.metaGet(key: key, flags: ["t", "f"])) else { return nil }
        return reply.flag("t").flatMap(Int.init)
    }

    @Test("sanic_session's layout: set key 0 <ttl + 1>; permanent sessions have exptime 0; touch and gat refresh")
    func layout() async throws {
        let store = try await Self.store.value
        let key = "session:" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await store.save(key: key, value: bytes(#"{"user":"ada"}"#), ttl: 3600)
        let item = try #require(try await store.client.get(key))
        #expect(item.flags == 0)
        #expect(item.value == bytes(#"{"user":"ada"}"#))
        #expect((3590...3602).contains(try await Self.ttl(store, key) ?? 0))
        try await store.save(key: key, value: bytes("{}"), ttl: nil)
        #expect(try await Self.ttl(store, key) == -1, "a permanent session never expires")
        #expect(try await store.touch(key: key, ttl: 50))
        #expect((40...52).contains(try await Self.ttl(store, key) ?? 0))
        #expect(try await store.touch(key: key, ttl: nil))
        #expect(try await Self.ttl(store, key) == -1, "touch(nil) makes it permanent")
        #expect(try await store.loadAndTouch(key: key, ttl: 77) == bytes("{}"))
        #expect((70...79).contains(try await Self.ttl(store, key) ?? 0), "gat set the TTL")
        try await store.save(key: key, value: bytes("{}"), ttl: 60 * 86_400)
        let long = try await Self.ttl(store, key)
        #expect((60 * 86_400 - 120...60 * 86_400 + 2).contains(long ?? 0), "a 60-day TTL is kept, not turned into 0 or 'expire now': \(String(describing: long))")
        try await store.save(key: key, value: bytes("{}"), ttl: 0)
        #expect(try await store.load(key: key) == nil, "a save with an expired TTL removes the entry")
    }

    @Test("optimistic concurrency: loadForUpdate + save(ifUnchangedSince:) loses to a concurrent writer")
    func compareAndSwap() async throws {
        let store = try await Self.store.value
        let key = "session:cas:\(UUID().uuidString.prefix(8))"
        #expect(try await store.loadForUpdate(key: key) == nil)
        try await store.save(key: key, value: bytes("1"), ttl: 60)
        let first = try #require(try await store.loadForUpdate(key: key))
        let second = try #require(try await store.loadForUpdate(key: key))
        #expect(try await store.save(key: key, value: bytes("from first"), ttl: 60, ifUnchangedSince: first.token))
        #expect(try await store.save(key: key, value: bytes("from second"), ttl: 60, ifUnchangedSince: second.token) == false)
        #expect(try await store.load(key: key) == bytes("from first"))
    }

    @Test("a value over the item size throws valueTooLarge and the stored session stays")
    func tooLarge() async throws {
        let store = try await Self.store.value
        let key = "session:big:\(UUID().uuidString.prefix(8))"
        try await store.save(key: key, value: bytes(#"{"keep":1}"#), ttl: 60)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: key, value: [UInt8](repeating: 0x20, count: 1024 * 1024), ttl: 60)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(try await store.load(key: key) == bytes(#"{"keep":1}"#))
    }

    @Test("a server that is down makes the store throw storeUnavailable, never return nil")
    func downStoreThrows() async throws {
        let held = try HeldPort()  // nothing listens there, and no other test's server can take it
        let port = held.port
        let store = try MemcachedSessionStore(testing: "memcached://127.0.0.1:\(port)")
        defer { store.client.close() }
        for _ in 0..<3 {
            let error = await #expect(throws: SessionError.self) { _ = try await store.load(key: "session:x") }
            #expect(error?.code == .storeUnavailable)
        }
    }
}

@Suite("memcached injection", .needsMemcached, .serialized)
struct MemcachedInjectionTests {
    static let hostileKeys: [String] = [
        "session:a\r\nflush_all",
        "session:a\r\nset pwned 0 0 1\r\nx",
        "session:a\rdelete victim",
        "session:a\ndelete victim",
        "session:a delete victim",
        "session:a\u{0}delete",
        "session:\u{1}",
        "session:\u{7F}",
        "session:" + String(repeating: "x", count: 243),  // 251 bytes
        "session:" + String(repeating: "x", count: 5000),
    ]

    @Test("keys with CR, LF, space, NUL, control characters or over 250 bytes are refused; the server is unchanged")
    func hostileKeysNeverReachTheServer() async throws {
        let server = try await MemcachedServer.start()
        defer { server.stop() }
        let store = try MemcachedSessionStore(testing: server.url)
        defer { store.client.close() }
        try await store.save(key: "victim", value: bytes("keep me"), ttl: 600)
        try await store.save(key: "session:a", value: bytes("a"), ttl: 600)
        let keysBefore = try await server.allKeys()
        let statsBefore = try await server.stats()
        for key in Self.hostileKeys {
            for operation in 0..<6 {
                let error = await #expect(throws: SessionError.self, "operation \(operation)") {
                    switch operation {
                    case 0: _ = try await store.load(key: key)
                    case 1: try await store.save(key: key, value: bytes("x"), ttl: 60)
                    case 2: try await store.delete(key: key)
                    case 3: _ = try await store.touch(key: key, ttl: 60)
                    case 4: _ = try await store.loadAndTouch(key: key, ttl: 60)
                    default: _ = try await store.client.get(["session:a", key])
                    }
                }
                #expect(error?.code == .invalidKey)
            }
        }
        #expect(try await server.allKeys() == keysBefore, "no key was added or removed")
        let statsAfter = try await server.stats()
        for counter in ["cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "delete_hits", "delete_misses", "curr_items", "total_items"] {
            #expect(statsAfter[counter] == statsBefore[counter], "\(counter) changed: \(statsBefore[counter] ?? "?") -> \(statsAfter[counter] ?? "?")")
        }
        #expect(try await store.load(key: "victim") == bytes("keep me"))
        #expect(try await store.load(key: "session:a") == bytes("a"))
    }

    @Test("a hostile cookie through the middleware never reaches memcached")
    func hostileCookie() async throws {
        let server = try await MemcachedServer.start()
        defer { server.stop() }
        let interface = try MemcacheSessionInterface(store: MemcachedSessionStore(testing: server.url), configuration: SessionConfiguration(expiry: 600))
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)
        let statsBefore = try await server.stats()
        for cookie in ["session=abc\r\nflush_all", "session=" + String(repeating: "A", count: 300), "session=a b", "session=%0d%0aflush_all"] {
            let result = try await middleware.handle(cookieHeaders: [cookie]) { context in
                try await context.session()["seen"]
            }
            #expect(result.value == nil)
        }
        let statsAfter = try await server.stats()
        #expect(statsAfter["cmd_get"] == statsBefore["cmd_get"], "malformed IDs are ignored without store access")
        #expect(statsAfter["cmd_flush"] == "0")
    }
}

@Suite("MemcacheSessionInterface end to end", .needsMemcached)
struct MemcacheSessionInterfaceTests {
    @Test("a session written through the middleware lands in memcached in sanic_session's layout and reads back")
    func endToEnd() async throws {
        let server = try await SharedMemcached.get()
        let configuration = try SessionConfiguration(expiry: 600, prefix: "e2e:\(UUID().uuidString.prefix(8)):")
        // The testing store: production timeouts (2 s) are too short for a loaded 2-core CI run.
        let interface = try MemcacheSessionInterface(store: MemcachedSessionStore(testing: server.url), configuration: configuration)
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["user"] = "ada"
            session["visits"] = 1
        }
        let id = try #require(browser.cookies["session"])
        let raw = try #require(try await interface.store.client.get(configuration.prefix + id))
        #expect(raw.flags == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(raw.value)) as? [String: Any])
        #expect(object["user"] as? String == "ada")
        #expect(object["visits"] as? Int == 1)

        let seen = try await browser.request(middleware) { context in
            let session = try await context.session()
            let visits = session["visits"]?.intValue ?? 0
            session["visits"] = .int(visits + 1)
            return session["user"]?.stringValue
        }
        #expect(seen.value == "ada")
        #expect(try await interface.store.load(key: configuration.prefix + id).map { String(decoding: $0, as: UTF8.self) }?.contains(#""visits":2"#) == true)
        _ = try await browser.request(middleware) { context in
            try await context.session().invalidate()
        }
        #expect(try await interface.store.client.get(configuration.prefix + id) == nil)
    }

    @Test("rolling sessions refresh the TTL with gat on every load")
    func rolling() async throws {
        let server = try await SharedMemcached.get()
        var configuration = try SessionConfiguration(expiry: 600, prefix: "roll:\(UUID().uuidString.prefix(8)):")
        configuration.rolling = true
        let store = try MemcachedSessionStore(testing: server.url)
        defer { store.client.close() }
        let interface = try MemcacheSessionInterface(store: store, configuration: configuration)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in try await context.session()["n"] = 1 }
        let id = try #require(browser.cookies["session"])
        _ = try await store.client.touch(configuration.prefix + id, ttl: 30)
        _ = try await browser.request(middleware) { context in try await context.session()["n"] }
        #expect((590...602).contains(try await MemcachedSessionStoreTests.ttl(store, configuration.prefix + id) ?? 0))
    }

    @Test("when memcached is down the request fails; no empty session overwrites the stored one")
    func downDoesNotOverwrite() async throws {
        let server = try await MemcachedServer.start()
        var memcached = try MemcachedConfiguration(testing: server.url).withFastReconnect()
        memcached.connectionsPerServer = 1
        let interface = try MemcacheSessionInterface(store: MemcachedSessionStore(configuration: memcached), configuration: SessionConfiguration(expiry: 600))
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in try await context.session()["user"] = "grace" }
        let id = try #require(browser.cookies["session"])
        server.stop()
        await #expect(throws: SessionError.self) {
            _ = try await browser.request(middleware) { context in try await context.session()["user"]?.stringValue }
        }
        #expect(browser.cookies["session"] == id, "the browser keeps its cookie")
    }
}
