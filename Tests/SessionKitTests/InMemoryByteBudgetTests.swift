import SessionKit
import SessionKitTestSupport
import Testing

/// The in-memory store bounds bytes as well as entries.
@Suite("InMemorySessionStore byte budget")
struct InMemoryByteBudgetTests {
    static let overhead = InMemorySessionStore.entryOverhead

    @Test func countsKeysValuesAndOverhead() async throws {
        let store = InMemorySessionStore(capacity: 100, maximumBytes: 1 << 20)
        try await store.save(key: "ab", value: [UInt8](repeating: 1, count: 10), ttl: nil)
        #expect(store.bytes == 2 + 10 + Self.overhead)
        try await store.save(key: "ab", value: [UInt8](repeating: 1, count: 30), ttl: nil)
        #expect(store.bytes == 2 + 30 + Self.overhead)
        try await store.delete(key: "ab")
        #expect(store.bytes == 0)
    }

    @Test func evictsLeastRecentlyUsedByBytes() async throws {
        // Room for three entries of key "kN" (2 bytes) and 1,000-byte values, not four.
        let entry = 2 + 1_000 + Self.overhead
        let store = InMemorySessionStore(capacity: 100, maximumBytes: 3 * entry + entry / 2, maximumValueBytes: 3_000)
        let value = [UInt8](repeating: 7, count: 1_000)
        for key in ["k1", "k2", "k3"] { try await store.save(key: key, value: value, ttl: nil) }
        _ = try await store.load(key: "k1")  // k2 is now the least recently used
        try await store.save(key: "k4", value: value, ttl: nil)
        #expect(try await store.load(key: "k2") == nil)
        #expect(try await store.load(key: "k1") == value)
        #expect(try await store.load(key: "k3") == value)
        #expect(try await store.load(key: "k4") == value)
        #expect(store.bytes <= store.maximumBytes)
        // One large value pushes out as many small ones as it needs, and is kept itself.
        try await store.save(key: "k5", value: [UInt8](repeating: 9, count: 2_500), ttl: nil)
        #expect(try await store.load(key: "k5")?.count == 2_500)
        #expect(store.bytes <= store.maximumBytes)
        #expect(store.count <= 2)
    }

    @Test func growingAValueInPlaceEvictsOthers() async throws {
        let entry = 2 + 100 + Self.overhead
        let store = InMemorySessionStore(capacity: 100, maximumBytes: 3 * entry, maximumValueBytes: 500)
        for key in ["k1", "k2", "k3"] { try await store.save(key: key, value: [UInt8](repeating: 1, count: 100), ttl: nil) }
        try await store.save(key: "k3", value: [UInt8](repeating: 2, count: 200), ttl: nil)
        #expect(try await store.load(key: "k1") == nil, "the least recently used entry makes room")
        #expect(try await store.load(key: "k3")?.count == 200)
        #expect(store.bytes <= store.maximumBytes)
    }

    @Test func boundsBytesWhenSharded() async throws {
        let budget = 64 << 20
        let store = InMemorySessionStore(capacity: 1_000_000, maximumBytes: budget)
        let value = [UInt8](repeating: 3, count: 16 << 10)
        for i in 0..<6_000 { try await store.save(key: "s\(i)", value: value, ttl: 60) }  // about 98 MB offered
        #expect(store.bytes <= budget)
        #expect(store.bytes > budget / 2, "eviction is per shard, so the store stays close to its budget")
        #expect(try await store.load(key: "s5999") == value)
        #expect(try await store.load(key: "s0") == nil)
    }

    @Test func defaultBudgetIsAnEighthOfMemoryWithinBounds() {
        let budget = InMemorySessionStore.defaultMaximumBytes
        #expect(budget >= 64 << 20 && budget <= 4 << 30)
        #expect(InMemorySessionStore().maximumBytes == budget)
    }
}
