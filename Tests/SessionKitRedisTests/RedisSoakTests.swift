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
        // Other suites (not other soaks: they take turns) run in this process at the same time
        // and share its memory.
        configuration.rssAllowance = 256 << 20
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
        #expect(report.sessionsLostToRestart == 0, "Redis runs with appendfsync always: no session may be lost")
    }

    /// A store that breaks its promises on purpose, to show that the soak's checks catch it.
    final class BrokenStore: SessionStore {
        enum Flaw: String, Sendable, CaseIterable {
            /// Every 25th save reports success without saving.
            case dropsSaves
            /// Every 25th load returns the session saved last, whoever it belongs to.
            case crossesSessions
        }

        let base: RedisSessionStore
        let flaw: Flaw
        let calls = Atomic<Int>(0)
        let lastSaved = Mutex<String?>(nil)

        init(_ base: RedisSessionStore, flaw: Flaw) {
            self.base = base
            self.flaw = flaw
        }

        func load(key: String) async throws -> [UInt8]? {
            if flaw == .crossesSessions, calls.add(1, ordering: .relaxed).newValue % 25 == 0,
                let other = lastSaved.withLock({ $0 }), other != key {
                return try await base.load(key: other)
            }
            return try await base.load(key: key)
        }

        func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
            try await load(key: key)
        }

        func save(key: String, value: [UInt8], ttl: Int?) async throws {
            if flaw == .dropsSaves, calls.add(1, ordering: .relaxed).newValue % 25 == 0 { return }
            try await base.save(key: key, value: value, ttl: ttl)
            lastSaved.withLock { $0 = key }
        }

        func delete(key: String) async throws { try await base.delete(key: key) }

        func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
    }

    @Test("the soak's checks catch a store that loses acknowledged writes or crosses sessions", arguments: BrokenStore.Flaw.allCases)
    func catchesBrokenStores(flaw: BrokenStore.Flaw) async throws {
        var configuration = ChaosSoak.Configuration(store: .redis, duration: .seconds(3), users: 20, seed: 3)
        configuration.faults = []
        configuration.cancelProbability = 0
        configuration.warmUp = .seconds(1)
        configuration.rssAllowance = 256 << 20
        // Enough requests for the flaws to show, however slow the machine (the server fsyncs
        // every write, so a busy disk slows it down).
        configuration.minimumRequests = 500
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
            redis.connectTimeout = .seconds(10)
            redis.commandTimeout = .seconds(10)
            let base = RedisSessionStore(client: try RedisClient(configuration: redis))
            let middleware = try SessionMiddleware(StoreSessionInterface(store: BrokenStore(base, flaw: flaw)))
            return ChaosSoak.Target(middleware: middleware, close: { base.client.close() })
        }
        switch flaw {
        case .dropsSaves: #expect(report.violationsByKind["lost-acknowledged-write", default: 0] > 0, "\(report)")
        case .crossesSessions: #expect(report.violationsByKind["crossed-session", default: 0] > 0, "\(report)")
        }
    }
}
