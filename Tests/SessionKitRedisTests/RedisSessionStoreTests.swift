import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("RedisSessionStore", .needsRedis)
struct RedisSessionStoreTests {
    static let store = Task { () throws -> RedisSessionStore in
        let server = try await SharedRedis.get()
        return try RedisSessionStore(configuration: SharedRedis.configuration(server))
    }

    @Test("passes the store conformance suite", arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        try await check.run(try await Self.store.value, time: .serverClock)
    }

    @Test("sanic_session's layout: SET key value EX ttl; permanent sessions have no TTL")
    func layout() async throws {
        let store = try await Self.store.value
        let client = store.client
        let key = "session:" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await store.save(key: key, value: Array(#"{"user":"ada"}"#.utf8), ttl: 3600)
        let ttl = try await client.send("TTL", RedisArgument(key)).integer ?? -99
        #expect(ttl > 3590 && ttl <= 3600)
        #expect(try await client.send("GET", RedisArgument(key)).string == #"{"user":"ada"}"#)
        try await store.save(key: key, value: Array("{}".utf8), ttl: nil)
        #expect(try await client.send("TTL", RedisArgument(key)) == .integer(-1), "a permanent session is stored without TTL")
        #expect(try await store.touch(key: key, ttl: nil), "touch(nil) of a persistent key reports it exists")
        #expect(try await store.touch(key: key, ttl: 50))
        #expect(try await client.send("TTL", RedisArgument(key)).integer ?? 0 > 40)
        #expect(try await store.touch(key: key, ttl: nil))
        #expect(try await client.send("TTL", RedisArgument(key)) == .integer(-1), "touch(nil) removes the TTL")
        #expect(try await store.loadAndTouch(key: key, ttl: 77) == Array("{}".utf8))
        #expect(try await client.send("TTL", RedisArgument(key)).integer ?? 0 > 70, "GETEX set the TTL")
        try await store.delete(key: key)
        #expect(try await client.send("EXISTS", RedisArgument(key)) == .integer(0))
    }

    @Test("values over maxValueSize are refused before anything is sent, and the old value stays")
    func tooLarge() async throws {
        let server = try await SharedRedis.get()
        let store = try RedisSessionStore(configuration: SharedRedis.configuration(server), maxValueSize: 1000)
        defer { store.client.close() }
        let key = "session:too-large:\(UUID())"
        try await store.save(key: key, value: Array("{}".utf8), ttl: 60)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: key, value: [UInt8](repeating: 32, count: 1001), ttl: 60)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(try await store.load(key: key) == Array("{}".utf8))
        let empty = await #expect(throws: SessionError.self) { try await store.load(key: "") }
        #expect(empty?.code == .invalidKey)
        try await store.delete(key: key)
    }

    @Test("without GETEX (Redis < 6.2) loadAndTouch falls back to GET + EXPIRE")
    func getexFallback() async throws {
        let server = try await RedisServer.start(.init(extraArguments: ["--rename-command", "GETEX", ""]))
        defer { server.stop() }
        let store = try RedisSessionStore(testing: server.url)
        defer { store.client.close() }
        try await store.save(key: "session:old", value: Array("{\"a\":1}".utf8), ttl: 10)
        #expect(try await store.loadAndTouch(key: "session:old", ttl: 500) == Array("{\"a\":1}".utf8))
        #expect(try await store.client.send("TTL", "session:old").integer ?? 0 > 400)
        #expect(try await store.loadAndTouch(key: "session:missing", ttl: 500) == nil)
        #expect(try await store.loadAndTouch(key: "session:old", ttl: 600) == Array("{\"a\":1}".utf8))
        #expect(try await store.client.send("TTL", "session:old").integer ?? 0 > 500)
    }

    @Test("a server that is down makes the store throw storeUnavailable, never return nil")
    func downStoreThrows() async throws {
        let held = try HeldPort()  // nothing listens there, and no other test's server can take it
        let port = held.port
        let store = try RedisSessionStore(testing: "redis://127.0.0.1:\(port)")
        defer { store.client.close() }
        for _ in 0..<3 {
            let error = await #expect(throws: SessionError.self) { _ = try await store.load(key: "session:x") }
            #expect(error?.code == .storeUnavailable)
        }
    }
}

@Suite("RedisSessionInterface end to end", .needsRedis)
struct RedisSessionInterfaceTests {
    @Test("a session written through the middleware lands in Redis in sanic_session's layout and reads back")
    func endToEnd() async throws {
        let server = try await SharedRedis.get()
        let configuration = try SessionConfiguration(expiry: 600, prefix: "e2e:\(UUID().uuidString.prefix(8)):")
        let interface = try RedisSessionInterface(store: RedisSessionStore(testing: server.url), configuration: configuration)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            let session = try await context.session()
            session["user"] = "ada"
            session["visits"] = 1
        }
        let id = try #require(browser.cookies["session"])
        let raw = try await interface.store.client.send("GET", RedisArgument(configuration.prefix + id))
        let json = try #require(raw.bytes)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(object["user"] as? String == "ada")
        #expect(object["visits"] as? Int == 1)
        let ttl = try await interface.store.client.send("TTL", RedisArgument(configuration.prefix + id)).integer ?? 0
        #expect(ttl > 500 && ttl <= 600)

        let seen = try await browser.request(middleware) { context in
            let session = try await context.session()
            let visits = session["visits"]?.intValue ?? 0
            session["visits"] = .int(visits + 1)
            return session["user"]?.stringValue
        }
        #expect(seen.value == "ada")
        _ = try await browser.request(middleware) { context in
            try await context.session().invalidate()
        }
        #expect(try await interface.store.client.send("EXISTS", RedisArgument(configuration.prefix + id)) == .integer(0))
        interface.store.client.close()
    }

    @Test("with hashIDsAtRest, Redis holds prefix + hash(id), never the ID from the cookie")
    func hashedIDsAtRest() async throws {
        let server = try await SharedRedis.get()
        let prefix = "hashed:\(UUID().uuidString.prefix(8)):"
        let configuration = try SessionConfiguration(expiry: 600, prefix: prefix, hashIDsAtRest: true)
        let interface = try RedisSessionInterface(store: RedisSessionStore(testing: server.url), configuration: configuration)
        defer { interface.store.client.close() }
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            try await context.session()["user"] = "hidden"
        }
        let id = try #require(browser.cookies["session"])
        let client = interface.store.client
        #expect(try await client.send("EXISTS", RedisArgument(prefix + id)) == .integer(0), "the raw ID is not a key")
        let keys = try await client.send("KEYS", RedisArgument(prefix + "*"))
        guard case .array(let found) = keys else { Issue.record("KEYS answered \(keys)"); return }
        #expect(found.count == 1)
        #expect(found.first?.string == interface.key(for: id))
        #expect(found.first?.string?.contains(id) == false)
        let seen = try await browser.request(middleware) { context in
            try await context.session()["user"]?.stringValue
        }
        #expect(seen.value == "hidden")
    }

    @Test("when Redis is down the request fails; no empty session overwrites the stored one")
    func downDoesNotOverwrite() async throws {
        let server = try await RedisServer.start()
        let configuration = try SessionConfiguration(expiry: 600)
        var redis = try RedisConfiguration(testing: server.url)
        redis.reconnectDelay = .milliseconds(10)
        redis.maxReconnectDelay = .milliseconds(50)
        let interface = try RedisSessionInterface(store: RedisSessionStore(configuration: redis), configuration: configuration)
        let middleware = try SessionMiddleware(interface)
        let browser = TestBrowser()
        _ = try await browser.request(middleware) { context in
            try await context.session()["user"] = "grace"
        }
        let id = try #require(browser.cookies["session"])
        server.stop()
        await #expect(throws: SessionError.self) {
            _ = try await browser.request(middleware) { context in
                try await context.session()["user"]?.stringValue
            }
        }
        try await server.restart()
        defer { server.stop() }
        // The restarted server is empty (no persistence), but the browser's cookie is unchanged.
        #expect(browser.cookies["session"] == id)
        interface.store.client.close()
    }
}
