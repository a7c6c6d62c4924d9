import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

@Suite("Lost updates over memcached", .needsMemcached)
struct MemcachedLostUpdateTests {
    func middleware(_ mode: SessionConfiguration.SaveMode, prefix: String) async throws -> SessionMiddleware {
        let store = try MemcachedSessionStore(testing: try await SharedMemcached.get().url)
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
}
