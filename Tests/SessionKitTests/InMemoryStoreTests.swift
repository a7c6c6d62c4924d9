@testable import SessionKit
import SessionKitTestSupport
import Testing

@Suite("InMemorySessionStore")
struct InMemoryStoreTests {
    /// Each check on a store of its own, whose expiry runs on a clock the check moves.
    @Test(arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        let clock = ManualClock()
        try await check.run(InMemorySessionStore(clock: clock.clock), time: .manual(clock))
    }

    @Test(arguments: [70, 100_000])
    func conformanceWithSmallAndShardedCapacity(_ capacity: Int) async throws {
        // The checks also pass on a tiny store, and on one with the default sharding.
        let clock = ManualClock()
        let store = InMemorySessionStore(capacity: capacity, clock: clock.clock)
        for check in StoreConformance.checks {
            try await check.run(store, time: .manual(clock))
        }
    }

    /// The middleware's in-memory path shares one clock reading between the interface and
    /// the store only when both use the system clock; a store with a clock of its own times
    /// expiry by that clock.
    @Test func storeWithItsOwnClockTimesExpiryByIt() async throws {
        let storeTime = ManualClock(0)
        let store = InMemorySessionStore(clock: storeTime.clock)
        var configuration = SessionConfiguration.default
        configuration.expiry = 3600
        configuration.rolling = false
        let sessions = try SessionMiddleware(try StoreSessionInterface(store: store, configuration: configuration, clock: .system))
        let first = try await sessions.handle(cookieHeaders: []) { context in
            try await context.session()["user"] = "ada"
        }
        let cookie = String(first.setCookies[0].prefix { $0 != ";" })
        func user() async throws -> SessionValue? {
            try await sessions.handle(cookieHeaders: [cookie]) { context in try await context.session()["user"] }.value
        }
        storeTime.advance(by: 3599)
        #expect(try await user() == "ada")
        // Reading it did not extend it (not rolling), so one hour after the save it is gone,
        // although the interface's system clock has moved by milliseconds only.
        storeTime.advance(by: 2)
        #expect(try await user() == nil)
    }

    @Test func onlyTheUnchangedSystemClockCountsAsTheSystemClock() {
        #expect(SessionClock.system.isSystem)
        #expect(!SessionClock { 0 }.isSystem)
        var replaced = SessionClock.system
        replaced.now = { 0 }
        #expect(!replaced.isSystem)
    }

    @Test func evictsLeastRecentlyUsed() async throws {
        let store = InMemorySessionStore(capacity: 3)
        for key in ["a", "b", "c"] { try await store.save(key: key, value: [1], ttl: nil) }
        _ = try await store.load(key: "a")  // a is now most recently used; b is least
        try await store.save(key: "d", value: [2], ttl: nil)
        #expect(try await store.load(key: "b") == nil)
        #expect(try await store.load(key: "a") == [1])
        #expect(try await store.load(key: "c") == [1])
        #expect(try await store.load(key: "d") == [2])
        #expect(store.count == 3)
    }

    @Test func boundsEntriesWhenSharded() async throws {
        let store = InMemorySessionStore(capacity: 10_000)
        for i in 0..<30_000 { try await store.save(key: "k\(i)", value: [UInt8(i & 0xFF)], ttl: 60) }
        #expect(store.count <= 10_000 + 15)
        #expect(try await store.load(key: "k29999") == [UInt8(29999 & 0xFF)])
        #expect(try await store.load(key: "k0") == nil)
    }

    @Test func reclaimsExpiredEntriesWithoutReadingThem() async throws {
        let time = ManualClock()
        let store = InMemorySessionStore(capacity: 100, clock: time.clock)
        for i in 0..<50 { try await store.save(key: "old\(i)", value: [0], ttl: 10) }
        #expect(store.count == 50)
        time.advance(by: 11)
        // Writes to other keys reclaim the abandoned ones as they go.
        for i in 0..<40 { try await store.save(key: "new\(i)", value: [1], ttl: 10) }
        #expect(store.count == 40, "abandoned sessions were reclaimed by writes to other keys")
        time.advance(by: 11)
        #expect(store.sweep() == 40)
        #expect(store.count == 0)
    }

    @Test func neverReturnsExpiredEntries() async throws {
        let time = ManualClock()
        let store = InMemorySessionStore(clock: time.clock)
        try await store.save(key: "k", value: [1], ttl: 5)
        time.advance(by: 4.9)
        #expect(try await store.load(key: "k") == [1])
        time.advance(by: 0.2)
        #expect(try await store.load(key: "k") == nil)
        #expect(try await store.touch(key: "k", ttl: 5) == false)
    }

    @Test func refusesOversizedValuesAndKeepsThePrevious() async throws {
        let store = InMemorySessionStore(maximumValueBytes: 1000)
        try await store.save(key: "k", value: [UInt8](repeating: 1, count: 1000), ttl: nil)
        let error = await #expect(throws: SessionError.self) {
            try await store.save(key: "k", value: [UInt8](repeating: 2, count: 1001), ttl: nil)
        }
        #expect(error?.code == .valueTooLarge)
        #expect(error?.message.contains("maximumValueBytes") == true)
        #expect(try await store.load(key: "k") == [UInt8](repeating: 1, count: 1000))
    }
}
