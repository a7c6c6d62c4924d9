import Foundation
import SessionKit
import SessionKitRedis
import SessionKitTestSupport
import Synchronization
import Testing

/// The chaos soak (``ChaosSoak``) over Redis, short: long runs use `scripts/soak.sh`.
@Suite("Chaos soak over Redis", .needsRedis)
struct RedisSoakTests {
    @Test("users keep their own sessions and every acknowledged write through restarts, stalls, resets and cancellations")
    func soak() async throws {
        var configuration = ChaosSoak.Configuration(store: .redis, duration: .seconds(15), users: 50, seed: 7)
        configuration.faultInterval = 0.3...0.8
        configuration.successesBetweenFaults = 50
        configuration.warmUp = .seconds(3)
        // Other suites run in this process at the same time and allocate as they please, so
        // neither its resident memory nor its heap is the soak's own: memory is reported here
        // but bounded only where the soak runs alone in its process (SessionKitSoak, which
        // .ci/run runs after the tests, and scripts/soak.sh).
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = configuration.clientTimeout
            redis.commandTimeout = configuration.clientTimeout
            redis.reconnectDelay = .milliseconds(10)
            redis.maxReconnectDelay = .milliseconds(200)
            let store = RedisSessionStore(client: try RedisClient(configuration: redis))
            let middleware = try SessionMiddleware(RedisSessionInterface(store: store))
            return ChaosSoak.Target(middleware: middleware, close: { store.client.close() })
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
        #expect(report.warmUpHeap > 0 && report.heapBound > 0 && report.rssSamples > 0, "the memory bound was checked: \(report)")
        #expect(report.sessionsLostToRestart == 0, "Redis runs with appendfsync always: no session may be lost")
    }

    @Test("the soak's checks catch a store that loses acknowledged writes or crosses sessions", arguments: BrokenSessionStore<RedisSessionStore>.Flaw.allCases)
    func catchesBrokenStores(flaw: BrokenSessionStore<RedisSessionStore>.Flaw) async throws {
        var configuration = ChaosSoak.Configuration(store: .redis, duration: .seconds(3), users: 20, seed: 3)
        configuration.faults = []
        configuration.cancelProbability = 0
        configuration.warmUp = .seconds(1)
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        // Enough requests for the flaws to show, however slow the machine (the server fsyncs
        // every write, so a busy disk slows it down).
        configuration.minimumRequests = 500
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = .seconds(10)
            redis.commandTimeout = .seconds(10)
            let base = RedisSessionStore(client: try RedisClient(configuration: redis))
            let middleware = try SessionMiddleware(StoreSessionInterface(store: BrokenSessionStore(base, flaw: flaw)))
            return ChaosSoak.Target(middleware: middleware, close: { base.client.close() })
        }
        switch flaw {
        case .dropsSaves: #expect(report.violationsByKind["lost-acknowledged-write", default: 0] > 0, "\(report)")
        case .crossesSessions: #expect(report.violationsByKind["crossed-session", default: 0] > 0, "\(report)")
        }
    }
}
