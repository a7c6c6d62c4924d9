import Foundation
import SessionKit
import SessionKitTestSupport
import Testing

/// The chaos soak (``ChaosSoak``) over each store, short: long runs use `scripts/soak.sh`.
@Suite("Chaos soak", .needsRedis, .needsMemcached, .serialized)
struct NetworkStoreSoakTests {
    @Test("users keep their own sessions and every acknowledged write through restarts, stalls, resets and cancellations", arguments: NetworkStore.allCases)
    func soak(store: NetworkStore) async throws {
        var configuration = ChaosSoak.Configuration(store: store.soakKind, duration: .seconds(15), users: 50, seed: store.soakSeed)
        configuration.faultInterval = 0.3...0.8
        configuration.successesBetweenFaults = 50
        configuration.warmUp = .seconds(3)
        // Other suites run in this process at the same time and allocate as they please, so
        // neither its resident memory nor its heap is the soak's own: memory is reported here
        // but bounded only where the soak runs alone in its process (SessionKitSoak, which
        // .ci/run runs after the tests, and scripts/soak.sh).
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        // The store's own interface: whole-session saves, which the store makes conditional on
        // the version the session was read with (a plain write that timed out in a stall could
        // otherwise still reach the server after later, acknowledged writes).
        let report = try await ChaosSoak.run(configuration) { port, configuration in
            try store.soakTarget(port: port, timeout: configuration.clientTimeout, sessions: .storeInterface)
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
        if store.keepsWritesAcrossRestarts {
            #expect(report.sessionsLostToRestart == 0, "\(store) runs with appendfsync always: no session may be lost")
        }
    }

    @Test("the soak's checks catch a store that loses acknowledged writes or crosses sessions", arguments: NetworkStore.allCases, SessionStoreFlaw.allCases)
    func catchesBrokenStores(store: NetworkStore, flaw: SessionStoreFlaw) async throws {
        var configuration = ChaosSoak.Configuration(store: store.soakKind, duration: .seconds(3), users: 20, seed: 3)
        // No faults, so no restart: every acknowledged write is held to the strong check.
        configuration.faults = []
        configuration.cancelProbability = 0
        configuration.warmUp = .seconds(1)
        configuration.heapAllowance = 256 << 20
        configuration.boundsMemory = false
        // Enough requests for the flaws to show, however slow the machine (Redis fsyncs every
        // write, so a busy disk slows it down).
        configuration.minimumRequests = 500
        let report = try await ChaosSoak.run(configuration) { port, _ in
            try store.soakTarget(port: port, timeout: .seconds(10), fastReconnect: false, sessions: .broken(flaw))
        }
        print("\(store), \(flaw): \(report.resultLine)")
        #expect(report.sessionsLostToRestart == 0 && report.faults.isEmpty, "no fault may excuse a lost write: \(report)")
        switch flaw {
        case .dropsSaves: #expect(report.violationsByKind["lost-acknowledged-write", default: 0] > 0, "\(report)")
        case .crossesSessions: #expect(report.violationsByKind["crossed-session", default: 0] > 0, "\(report)")
        }
    }
}
