import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// A short logout soak over memcached with faults, and its control.
@Suite("Logout soak over memcached", .needsMemcached, .serialized)
struct MemcachedLogoutSoakTests {
    static func factory(plain: Bool) -> LogoutSoak.Factory {
        { port, timeout in
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = timeout
            memcached.commandTimeout = timeout
            memcached.reconnectDelay = .milliseconds(10)
            memcached.maxReconnectDelay = .milliseconds(200)
            let client = try MemcachedClient(configuration: memcached)
            let store = MemcachedSessionStore(client: client)
            let interface: any SessionInterface =
                plain ? try StoreSessionInterface(store: PlainSaveStore(store)) : try MemcacheSessionInterface(store: store)
            return ChaosSoak.Target(middleware: try SessionMiddleware(interface), close: { client.close() })
        }
    }

    @Test func noEndedSessionComesBack() async throws {
        var configuration = LogoutSoak.Configuration(store: .memcached, duration: .seconds(6), users: 12)
        configuration.minimumLogouts = 50
        configuration.minimumRevocations = 5
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(plain: false))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected == 0)
        #expect(report.logouts > 0 && report.revocations > 0 && report.probes > 0, "the soak must have ended sessions and checked them")
        #expect(report.faults > 0, "faults must have happened")
    }

    @Test func theControlResurrects() async throws {
        var configuration = LogoutSoak.Configuration(store: .memcached, duration: .seconds(3), users: 8, faults: false)
        configuration.minimumLogouts = 20
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(plain: true))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected > 0)
    }
}
