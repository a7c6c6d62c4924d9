import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// The compare-and-set script the store saves loaded sessions with (the lost-update and
/// late-write tests that run against both stores are in SessionKitNetworkStoreTests).
@Suite("Redis compare-and-set saves", .needsRedis)
struct RedisCompareAndSetTests {
    @Test func scriptDigestMatchesTheServer() async throws {
        let server = try await SharedRedis.get()
        let store = try RedisSessionStore(configuration: SharedRedis.configuration(server))
        let sha = try await store.client.send("SCRIPT", "LOAD", RedisArgument(RedisSessionStore.compareAndSetScript))
        #expect(sha.string == RedisSessionStore.compareAndSetScriptSHA1)
    }

    @Test func conditionalSaveRefusesAChangedValue() async throws {
        let server = try await SharedRedis.get()
        let store = try RedisSessionStore(configuration: SharedRedis.configuration(server))
        let key = "lu-cas:" + (try SessionID.generate())
        try await store.save(key: key, value: [1], ttl: 60)
        let (value, version) = try #require(try await store.loadVersioned(key: key))
        #expect(value == [1])
        try await store.save(key: key, value: [2], ttl: 60)
        #expect(try await store.save(key: key, value: [3], ttl: 60, ifVersion: version) == false)
        #expect(try await store.load(key: key) == [2])
        let (_, current) = try #require(try await store.loadVersioned(key: key))
        #expect(try await store.save(key: key, value: [4], ttl: 60, ifVersion: current))
        #expect(try await store.load(key: key) == [4])
        try await store.delete(key: key)
        #expect(try await store.save(key: key, value: [5], ttl: 60, ifVersion: current) == false, "a deleted entry is not recreated")
        #expect(try await store.load(key: key) == nil)
    }
}
