import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

/// A short logout soak over Redis with faults, and its control.
@Suite("Logout soak over Redis", .needsRedis, .serialized)
struct RedisLogoutSoakTests {
    static func factory(plain: Bool) -> LogoutSoak.Factory {
        { port, timeout in
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = timeout
            redis.commandTimeout = timeout
            redis.reconnectDelay = .milliseconds(10)
            redis.maxReconnectDelay = .milliseconds(200)
            let store = RedisSessionStore(client: try RedisClient(configuration: redis))
            let interface: any SessionInterface =
                plain ? try StoreSessionInterface(store: PlainSaveStore(store)) : try RedisSessionInterface(store: store)
            return ChaosSoak.Target(middleware: try SessionMiddleware(interface), close: { store.client.close() })
        }
    }

    @Test func noEndedSessionComesBack() async throws {
        var configuration = LogoutSoak.Configuration(store: .redis, duration: .seconds(6), users: 12)
        configuration.minimumLogouts = 50
        configuration.minimumRevocations = 5
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(plain: false))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected == 0)
        #expect(report.logouts > 0 && report.revocations > 0 && report.probes > 0, "the soak must have ended sessions and checked them")
        #expect(report.faults > 0, "faults must have happened")
    }

    /// The control: plain saves bring logged-out sessions back, and the soak sees it.
    @Test func theControlResurrects() async throws {
        var configuration = LogoutSoak.Configuration(store: .redis, duration: .seconds(3), users: 8, faults: false)
        configuration.minimumLogouts = 20
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(plain: true))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected > 0)
    }
}
