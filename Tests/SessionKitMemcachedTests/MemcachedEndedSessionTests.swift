import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// A session ended while a request held it stays ended over three memcached servers, in both
/// save modes; the plain-save control brings it back.
@Suite("Ended sessions stay ended (memcached)", .needsMemcached, .serialized)
struct MemcachedEndedSessionTests {
    static func expectEnded(_ outcome: ResurrectionCheck.Outcome) {
        #expect(outcome.heldRequestSawUser, "the held request must have loaded the logged-in session")
        #expect(outcome.heldRequestDiscarded == ["session"])
        #expect(outcome.heldRequestExpiredCookie)
        #expect(outcome.userWithCopiedCookie == nil)
        #expect(outcome.userWithHeldRequestsCookie == nil)
    }

    @Test func threeServers() async throws {
        var servers: [MemcachedServer] = []
        defer { for server in servers { server.stop() } }
        for _ in 0..<3 { servers.append(try await MemcachedServer.start()) }
        var configuration = try MemcachedConfiguration(testing: servers[0].url)
        configuration.servers = servers.map { .tcp(host: $0.host, port: $0.port) }
        let store = try MemcachedSessionStore(configuration: configuration)
        defer { store.client.close() }
        for mode in [SessionConfiguration.SaveMode.wholeSession, .changedKeys] {
            let revoking = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "revoke-\(mode):", saveMode: mode))
            let problems = try await RevocationCheck.scenario(SessionMiddleware(revoking))
            #expect(problems.isEmpty, "\(mode): \(problems)")
        }
        for variant in ResurrectionCheck.Variant.allCases {
            for mode in [SessionConfiguration.SaveMode.wholeSession, .changedKeys] {
                let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "ended:", saveMode: mode))
                Self.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
            }
            let control = try StoreSessionInterface(store: PlainSaveStore(store), configuration: SessionConfiguration(prefix: "ended-control:"))
            let outcome = try await ResurrectionCheck.run(middleware: SessionMiddleware(control), variant: variant)
            #expect(outcome.heldRequestSawUser)
            #expect(outcome.resurrected, "the control saves with plain writes and must bring the session back")
        }
    }

    @Test func replaceNeverCreatesAnItem() async throws {
        let store = try MemcachedSessionStore(testing: try await SharedMemcached.get().url)
        defer { store.client.close() }
        let key = "ended-replace:" + (try SessionID.generate())
        #expect(try await store.replace(key: key, value: [1], ttl: 60) == false)
        #expect(try await store.load(key: key) == nil)
        try await store.save(key: key, value: [1], ttl: 60)
        #expect(try await store.replace(key: key, value: [2], ttl: 60))
        #expect(try await store.load(key: key) == [2])
        try await store.delete(key: key)
        #expect(try await store.replace(key: key, value: [3], ttl: nil) == false)
        #expect(try await store.load(key: key) == nil)
    }
}
