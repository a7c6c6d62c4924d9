import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Lost updates over Redis", .needsRedis)
struct RedisLostUpdateTests {
    func middleware(_ mode: SessionConfiguration.SaveMode, prefix: String) async throws -> SessionMiddleware {
        let server = try await SharedRedis.get()
        let store = try RedisSessionStore(configuration: SharedRedis.configuration(server))
        return try SessionMiddleware(StoreSessionInterface(
            store: store, configuration: SessionConfiguration(prefix: prefix, saveMode: mode)))
    }

    @Test func wholeSessionSavesLoseOverlappingChanges() async throws {
        let lost = try await LostUpdateCheck.lostChanges(middleware: middleware(.wholeSession, prefix: "lu-whole:"), pairs: 30)
        #expect(lost == 30)
    }

    @Test func changedKeysSavesKeepEveryChange() async throws {
        let lost = try await LostUpdateCheck.lostChanges(middleware: middleware(.changedKeys, prefix: "lu-merge:"), pairs: 30)
        #expect(lost == 0)
    }

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
