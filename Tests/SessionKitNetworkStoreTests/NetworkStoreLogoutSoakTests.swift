import SessionKit
import SessionKitTestSupport
import Testing

/// A short logout soak (``LogoutSoak``) over each store with faults, and its control.
@Suite("Logout soak", .needsRedis, .needsMemcached, .serialized)
struct NetworkStoreLogoutSoakTests {
    static func factory(_ store: NetworkStore, plain: Bool) -> LogoutSoak.Factory {
        { port, timeout in try store.soakTarget(port: port, timeout: timeout, sessions: plain ? .plainSaves : .storeInterface) }
    }

    @Test("no logged-out or revoked session comes back, through faults", arguments: NetworkStore.allCases)
    func noEndedSessionComesBack(store: NetworkStore) async throws {
        var configuration = LogoutSoak.Configuration(store: store.soakKind, duration: .seconds(6), users: 12)
        configuration.minimumLogouts = 50
        configuration.minimumRevocations = 5
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(store, plain: false))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected == 0)
        #expect(report.logouts > 0 && report.revocations > 0 && report.probes > 0, "the soak must have ended sessions and checked them")
        #expect(report.faults > 0, "faults must have happened")
    }

    /// The control: plain saves bring logged-out sessions back, and the soak sees it.
    @Test("the control (plain saves) brings ended sessions back, and the soak sees it", arguments: NetworkStore.allCases)
    func theControlResurrects(store: NetworkStore) async throws {
        var configuration = LogoutSoak.Configuration(store: store.soakKind, duration: .seconds(3), users: 8, faults: false)
        configuration.minimumLogouts = 20
        let report = try await LogoutSoak.run(configuration, factory: Self.factory(store, plain: true))
        print(report.resultLine)
        for detail in report.details { print("  resurrected: \(detail)") }
        #expect(report.resurrected > 0)
    }
}
