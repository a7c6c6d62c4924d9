import Foundation
import SessionKit
import SessionKitRedis
import SessionKitTestSupport
import SessionKitTLS
import Testing

/// TLS connections cut by the fault proxy (between the client and redis-server's TLS port)
/// while a load runs: mid-handshake, mid-record, mid-reply. Every reply either reaches its own
/// caller or fails; none reaches another; the client recovers.
@Suite("TLS under faults (fault-injecting proxy)", .needsRedisAndOpenSSL, .timeLimit(.minutes(3)))
struct TLSFaultTests {
    @Test("connections reset mid-handshake and mid-reply under load: no misrouted reply, recovery afterwards")
    func resetsUnderLoad() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await SharedTLSServers.redis.value
        let proxy = try FaultProxy(upstreamPort: redis.tlsPort)
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(proxy.port)?ssl_ca_certs=\(certificates.caFile)", tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(5)
        configuration.commandTimeout = .seconds(10)
        configuration.reconnectDelay = .milliseconds(10)
        configuration.maxReconnectDelay = .milliseconds(100)
        let store = try RedisSessionStore(configuration: configuration)
        defer { store.client.close() }
        let keys = (0..<100).map { "session:fault-\($0)-" + UUID().uuidString }
        // Values of different sizes, each naming its key: a reply handed to the wrong caller shows.
        @Sendable func value(_ key: String) -> [UInt8] {
            Array(#"{"key":"\#(key)","pad":"\#(String(repeating: "x", count: key.utf8.count * 40))"}"#.utf8)
        }
        try await withDeadline(.seconds(60), "seeding") {
            for key in keys { try await Poll.retrying("seeding \(key)") { try await store.save(key: key, value: value(key), ttl: 600) } }
        }

        // Mid-handshake: every connection is reset, and the first server flight of the next
        // one (the TLS ServerHello) arrives only in part before the reset.
        proxy.resetAllConnections()
        // The old connections are gone before the cut is armed, so that it lands on the next
        // connection's first server flight and not on a reply of an old one.
        #expect(try await Poll.holds(within: .seconds(20)) { proxy.openConnections == 0 })
        proxy.resetMidReply(count: 1)
        let cut = await #expect(throws: SessionError.self) { try await store.load(key: keys[0]) }
        #expect(cut.map { !"\($0)".contains(keys[0]) } ?? true, "no session key in the error: \(String(describing: cut))")
        #expect(proxy.midReplyResets == 1)

        // Mid-reply and mid-record under load: resets at points of the load's progress, and
        // replies cut in half.
        let start = proxy.forwardedFromClient
        proxy.resetAllConnections(whenClientBytesReach: [20_000, 60_000, 120_000, 200_000].map { start + $0 })
        proxy.resetMidReply(count: 6)
        let outcome = try await withDeadline(.seconds(120), "the load under faults") {
            try await withThrowingTaskGroup(of: (ok: Int, wrong: Int).self) { group in
                for task in 0..<20 {
                    group.addTask {
                        var (ok, wrong) = (0, 0)
                        for round in 0..<30 {
                            let key = keys[(task * 7 + round) % keys.count]
                            // Calls fail while connections are cut (and fail fast while the
                            // client backs off); each is retried until it gets through.
                            let loaded = try await Poll.retrying("loading \(key) under faults", within: .seconds(60)) { try await store.load(key: key) }
                            if loaded == value(key) { ok += 1 } else { wrong += 1 }
                            try await Poll.retrying("saving \(key) under faults", within: .seconds(60)) { try await store.save(key: key, value: value(key), ttl: 600) }
                        }
                        return (ok, wrong)
                    }
                }
                var total = (ok: 0, wrong: 0)
                for try await part in group { total = (total.ok + part.ok, total.wrong + part.wrong) }
                return total
            }
        }
        #expect(outcome.wrong == 0, "a load returned another session's value or nothing: \(outcome)")
        #expect(outcome.ok == 20 * 30, "\(outcome)")
        #expect(proxy.progressResets >= 1 && proxy.midReplyResets >= 2, "the faults fired: \(proxy.progressResets) resets, \(proxy.midReplyResets) cut replies")

        // Recovery: with the faults cleared, every session reads back whole and right.
        proxy.clearFaults()
        try await withDeadline(.seconds(60), "recovery") {
            for key in keys {
                let loaded = try await Poll.retrying("loading \(key) after the faults") { try await store.load(key: key) }
                #expect(loaded == value(key))
            }
        }
    }
}
