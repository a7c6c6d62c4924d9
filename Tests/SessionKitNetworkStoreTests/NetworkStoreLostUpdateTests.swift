import SessionKit
import SessionKitTestSupport
import Testing

/// Overlapping requests of one user that change different keys (``LostUpdateCheck``), over
/// each store.
@Suite("Lost updates", .needsRedis, .needsMemcached)
struct NetworkStoreLostUpdateTests {
    func sessions(_ store: NetworkStore, _ mode: SessionConfiguration.SaveMode, prefix: String) async throws -> (SessionMiddleware, StoreUnderTest) {
        let underTest = try store.sessionStore(port: try await store.sharedServer().port)
        return (try underTest.middleware(SessionConfiguration(prefix: prefix, saveMode: mode)), underTest)
    }

    /// The control: whole-session saves lose one of each pair's two changes.
    @Test("whole-session saves lose overlapping changes (the control)", arguments: NetworkStore.allCases)
    func wholeSessionSavesLoseOverlappingChanges(store: NetworkStore) async throws {
        let (middleware, underTest) = try await sessions(store, .wholeSession, prefix: "lu-whole:")
        defer { underTest.close() }
        let lost = try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 30)
        print("\(store), whole-session saves: \(lost) changes lost in 30 overlapping pairs")
        #expect(lost == 30)
    }

    @Test("changed-keys saves keep every change", arguments: NetworkStore.allCases)
    func changedKeysSavesKeepEveryChange(store: NetworkStore) async throws {
        let (middleware, underTest) = try await sessions(store, .changedKeys, prefix: "lu-merge:")
        defer { underTest.close() }
        let lost = try await LostUpdateCheck.lostChanges(middleware: middleware, pairs: 30)
        print("\(store), changed-keys saves: \(lost) changes lost in 30 overlapping pairs")
        #expect(lost == 0)
    }
}
