@testable import SessionKit
import SessionKitTestSupport
import Testing

/// A session ended on the filesystem store stays ended after a crash: in `.durable` and
/// `.synchronous` modes, deletes and prunes sync the directory before they return.
@Suite("FilesystemSessionStore durable deletes")
struct FilesystemDurableDeleteTests {
    @Test(arguments: [FilesystemSessionStore.Durability.durable, .synchronous])
    func deletesAndPrunesSyncTheDirectory(_ durability: FilesystemSessionStore.Durability) async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let clock = ManualClock()
        let store = try FilesystemSessionStore(directory: dir.path, durability: durability, clock: clock.clock)
        try await store.save(key: "s:a", value: [1], ttl: 60)
        let beforeDelete = store.directorySync.requestedSyncs
        try await store.delete(key: "s:a")
        #expect(store.directorySync.requestedSyncs > beforeDelete, "a delete syncs the directory")
        #expect(try await store.load(key: "s:a") == nil)

        try await store.save(key: "s:b", value: [1], ttl: 5)
        clock.advance(by: 10)
        let beforePrune = store.directorySync.requestedSyncs
        #expect(try await store.prune().expiredSessions == 1)
        #expect(store.directorySync.requestedSyncs > beforePrune, "a prune that removed files syncs the directory")
    }

    /// The control: `.fast` promises nothing across a crash and syncs nothing.
    @Test func fastModeDoesNotSync() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path, durability: .fast)
        try await store.save(key: "s:a", value: [1], ttl: 60)
        let before = store.directorySync.requestedSyncs
        try await store.delete(key: "s:a")
        #expect(store.directorySync.requestedSyncs == before)
    }
}
