import Foundation
import SessionKit
import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// The chaos soak (``ChaosSoak``) over memcached, short: long runs use `scripts/soak.sh`.
@Suite("Chaos soak over memcached", .needsMemcached)
struct MemcachedSoakTests {
    @Test("users keep their own sessions, and every write acknowledged since the last restart, through faults and cancellations")
    func soak() async throws {
        var configuration = ChaosSoak.Configuration(store: .memcached, duration: .seconds(15), users: 50, seed: 11)
        configuration.faultInterval = 0.3...0.8
        configuration.successesBetweenFaults = 50
        configuration.warmUp = .seconds(3)
        // Other suites run in this process at the same time and share its memory.
        configuration.rssAllowance = 256 << 20
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var memcached = try MemcachedConfiguration(url: "memcached://127.0.0.1:\(port)")
            memcached.connectTimeout = configuration.clientTimeout
            memcached.commandTimeout = configuration.clientTimeout
            memcached.reconnectDelay = .milliseconds(10)
            memcached.maxReconnectDelay = .milliseconds(200)
            let client = try MemcachedClient(configuration: memcached)
            let middleware = try SessionMiddleware(MemcacheSessionInterface(store: MemcachedSessionStore(client: client)))
            return ChaosSoak.Target(middleware: middleware, close: { client.close() })
        }
        print(report)
        print(report.resultLine)
        #expect(report.violations == 0, "\(report)")
        // Not vacuous: every fault kind happened, and requests succeeded and were checked.
        for kind in ChaosSoak.FaultKind.allCases {
            #expect(report.faults[kind.rawValue, default: 0] > 0, "no \(kind.rawValue) was injected")
        }
        #expect(report.acknowledgedWrites > 0 && report.successfulReads > 0)
        #expect(report.verifiedReadBacks > 0)
        #expect(report.cancellationsIssued > 0)
        #expect(report.finalUsers > 0 && report.finalReadBacks == report.finalUsers)
    }
}
