import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// A session ended while a request held it stays ended over Redis and Redis Cluster, in both
/// save modes; the plain-save control brings it back.
@Suite("Ended sessions stay ended (Redis)", .needsRedis)
struct RedisEndedSessionTests {
    static func expectEnded(_ outcome: ResurrectionCheck.Outcome) {
        #expect(outcome.heldRequestSawUser, "the held request must have loaded the logged-in session")
        #expect(outcome.heldRequestDiscarded == ["session"])
        #expect(outcome.heldRequestExpiredCookie)
        #expect(outcome.userWithCopiedCookie == nil)
        #expect(outcome.userWithHeldRequestsCookie == nil)
    }

    static func store() async throws -> RedisSessionStore {
        try RedisSessionStore(configuration: SharedRedis.configuration(try await SharedRedis.get()))
    }

    @Test(arguments: ResurrectionCheck.Variant.allCases, [SessionConfiguration.SaveMode.wholeSession, .changedKeys])
    func standalone(_ variant: ResurrectionCheck.Variant, _ mode: SessionConfiguration.SaveMode) async throws {
        let store = try await Self.store()
        defer { store.client.close() }
        let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "ended:", saveMode: mode))
        Self.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
    }

    @Test(arguments: ResurrectionCheck.Variant.allCases)
    func standaloneControl(_ variant: ResurrectionCheck.Variant) async throws {
        let store = try await Self.store()
        defer { store.client.close() }
        let interface = try StoreSessionInterface(store: PlainSaveStore(store), configuration: SessionConfiguration(prefix: "ended-control:"))
        let outcome = try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant)
        #expect(outcome.heldRequestSawUser)
        #expect(outcome.resurrected, "the control saves with plain writes and must bring the session back")
    }

    @Test(arguments: [SessionConfiguration.SaveMode.wholeSession, .changedKeys], [false, true])
    func revocation(_ mode: SessionConfiguration.SaveMode, _ hashIDs: Bool) async throws {
        let store = try await Self.store()
        defer { store.client.close() }
        let prefix = "revoke:\(UInt32.random(in: 0...UInt32.max)):"
        let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: prefix, hashIDsAtRest: hashIDs, saveMode: mode))
        let problems = try await RevocationCheck.scenario(SessionMiddleware(interface))
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func replaceIsSetXX() async throws {
        let store = try await Self.store()
        defer { store.client.close() }
        let key = "ended-replace:" + (try SessionID.generate())
        #expect(try await store.replace(key: key, value: [1], ttl: 60) == false)
        #expect(try await store.load(key: key) == nil)
        try await store.save(key: key, value: [1], ttl: 60)
        #expect(try await store.replace(key: key, value: [2], ttl: 60))
        #expect(try await store.load(key: key) == [2])
        #expect(try await store.client.send("TTL", RedisArgument(key)).integer ?? 0 > 0)
        try await store.delete(key: key)
        #expect(try await store.replace(key: key, value: [3], ttl: nil) == false)
        #expect(try await store.load(key: key) == nil)
    }

    @Test(.needsRedisCluster)
    func cluster() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        let store = try RedisClusterTests.store(cluster)
        defer { store.client.close() }
        let revoking = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "revoke:"))
        let problems = try await RevocationCheck.scenario(SessionMiddleware(revoking))
        #expect(problems.isEmpty, "over the cluster: \(problems)")
        for variant in ResurrectionCheck.Variant.allCases {
            let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "ended:"))
            Self.expectEnded(try await ResurrectionCheck.run(middleware: SessionMiddleware(interface), variant: variant))
            let control = try StoreSessionInterface(store: PlainSaveStore(store), configuration: SessionConfiguration(prefix: "ended-control:"))
            let outcome = try await ResurrectionCheck.run(middleware: SessionMiddleware(control), variant: variant)
            #expect(outcome.resurrected, "the control saves with plain writes and must bring the session back")
        }
    }
}
