import SessionKit
import SessionKitTesting
import Testing

/// The testing kit itself.
@Suite("SessionKitTesting")
struct TestingKitTests {
    @Test func theClientCarriesAndDropsCookies() async throws {
        let client = TestSessionClient(try SessionMiddleware(InMemorySessionInterface()))
        try await client.request { try await $0.session()["user"] = "ada" }
        #expect(client.cookies.keys.sorted() == ["session"])
        #expect(try await client.request { try await $0.session()["user"] }.value == "ada")
        try await client.request { try await $0.session().invalidate() }
        #expect(client.cookies.isEmpty, "the logout's Max-Age=0 removed the cookie")
        client.setCookie("session", "not-a-session-id")
        #expect(try await client.request { try await $0.session()["user"] }.value == nil)
    }

    @Test func theStoreShowsWhatWasStoredAndWhichCallsWereMade() async throws {
        let store = TestSessionStore()
        let client = TestSessionClient(try SessionMiddleware(StoreSessionInterface(store: store)))
        try await client.request { try await $0.session()["cart"] = 3 }
        let id = try #require(client.cookies["session"])
        #expect(store.keys == ["session:" + id])
        #expect(store.data(forKey: "session:" + id) == ["cart": 3])
        store.clearOperations()
        try await client.request { try await $0.session()["cart"] = 4 }
        #expect(store.operations.contains("replace session:\(id) 2592000"), "\(store.operations)")
        #expect(store.data(forKey: "session:" + id) == ["cart": 4])
    }

    @Test func theStoreKeepsTheStoreContract() async throws {
        let clock = TestClock()
        let store = TestSessionStore(clock: clock.sessionClock)
        #expect(try await store.replace(key: "k", value: [1], ttl: 10) == false)
        #expect(try await store.create(key: "k", value: [1], ttl: 10))
        #expect(try await store.create(key: "k", value: [2], ttl: 10) == false)
        #expect(try await store.replace(key: "k", value: [3], ttl: 10))
        #expect(try await store.load(key: "k") == [3])
        clock.advance(by: 11)
        #expect(try await store.load(key: "k") == nil)
        #expect(store.keys.isEmpty)
        // The changed-keys save mode needs conditional saves: they work.
        let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(saveMode: .changedKeys))
        let client = TestSessionClient(try SessionMiddleware(interface))
        try await client.request { try await $0.session()["a"] = 1 }
        try await client.request { try await $0.session()["b"] = 2 }
        let id = try #require(client.cookies["session"])
        #expect(store.data(forKey: "session:" + id) == ["a": 1, "b": 2])
    }

    @Test func theClockOnlyMovesWhenTold() {
        let clock = TestClock(now: 100)
        #expect(clock.sessionClock.now() == 100)
        clock.advance(by: 5)
        #expect(clock.now == 105 && clock.sessionClock.now() == 105)
    }
}
