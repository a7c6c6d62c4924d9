import Foundation
import SessionKit
import SessionKitMemcached
import SessionKitRedis
import SessionKitTestSupport
import SessionKitTLS
import Testing

/// The TLS transport's buffer handling with the bytes split at random points: a splitting proxy
/// between the store and the TLS server forwards each direction in chunks of 1 byte up to 4 KiB,
/// each sent on its own, so that TLS records, their headers and the protocol's lines arrive in
/// pieces and the server reads the client's records in pieces. The store conformance suite and
/// large values must pass through it unchanged. Run under Address Sanitizer by
/// `scripts/sanitizers.sh address --filter SessionKitTLSTests`.
///
/// The chunk sizes come from a seed, printed by each test; `SESSIONKIT_SPLIT_SEED=<seed>` draws
/// the same sizes again (where the proxy's reads end still depends on timing).
@Suite("TLS through random read/write splits (splitting proxy)", .timeLimit(.minutes(5)))
struct TLSSplitTests {
    /// Values of 200 kB and 1 MB (within both stores' limits: memcached's default 1 MiB item
    /// size), of pseudo-random bytes so that a byte out of place shows.
    static let largeValues: [[UInt8]] = [200_000, 1_000_000].map { size in
        var value = [UInt8]()
        value.reserveCapacity(size)
        var x = UInt32(truncatingIfNeeded: size) | 1
        while value.count < size {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            value.append(UInt8(truncatingIfNeeded: x))
        }
        return value
    }

    static func proxy(upstreamPort: Int, _ name: String) throws -> SplittingProxy {
        let proxy = try SplittingProxy(upstreamPort: upstreamPort, seed: SplittingProxy.seedFromEnvironment())
        print("\(name): splitting proxy seed \(proxy.seed) (SESSIONKIT_SPLIT_SEED=\(proxy.seed) replays it), chunks of 1 to \(proxy.maxChunk) bytes")
        return proxy
    }

    /// The conformance suite, then the large values, through `proxy`; then checks that the
    /// proxy really split both directions.
    static func exercise(_ store: any SessionStore, through proxy: SplittingProxy) async throws {
        let seed = "seed \(proxy.seed)"
        for check in StoreConformance.checks {
            do {
                try await check.run(store, time: .serverClock)
            } catch {
                Issue.record("conformance check \(check.name) failed through the splitting proxy (\(seed)): \(error)")
            }
        }
        let (up, down) = (proxy.toServer, proxy.toClient)
        let keys = largeValues.map { "session:split-\($0.count)-" + UUID().uuidString }
        for (key, value) in zip(keys, largeValues) { try await store.save(key: key, value: value, ttl: 60) }
        for (key, value) in zip(keys, largeValues) {
            let loaded = try await store.load(key: key)
            let firstDifference = loaded.map { loaded in zip(loaded, value).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(loaded.count, value.count) }
            #expect(loaded == value, "the \(value.count)-byte value came back as \(loaded?.count ?? -1) bytes, first difference at \(String(describing: firstDifference)) (\(seed))")
        }
        for key in keys { try await store.delete(key: key) }

        let total = largeValues.reduce(0) { $0 + $1.count }
        let sent = (chunks: proxy.toServer.chunks - up.chunks, bytes: proxy.toServer.bytes - up.bytes)
        let received = (chunks: proxy.toClient.chunks - down.chunks, bytes: proxy.toClient.bytes - down.bytes)
        print("split: large values \(total) bytes; to the server \(sent.bytes) bytes in \(sent.chunks) chunks, to the client \(received.bytes) bytes in \(received.chunks) chunks; whole run: to the server \(proxy.toServer), to the client \(proxy.toClient); \(proxy.acceptedConnections) connections (\(seed))")
        // The values went through the proxy, in both directions, and in many pieces each.
        #expect(sent.bytes >= total && received.bytes >= total, "\(sent), \(received)")
        #expect(sent.chunks > largeValues.count && received.chunks > largeValues.count, "\(sent), \(received)")
        #expect(sent.chunks >= total / proxy.maxChunk && received.chunks >= total / proxy.maxChunk, "no chunk above \(proxy.maxChunk) bytes: \(sent), \(received)")
        #expect(proxy.toServer.largestChunk <= proxy.maxChunk && proxy.toClient.largestChunk <= proxy.maxChunk)
        // Single bytes both ways: TLS record headers and RESP/memcached lines cut anywhere.
        #expect(proxy.toServer.oneByteChunks > 0 && proxy.toClient.oneByteChunks > 0, "\(proxy.toServer), \(proxy.toClient)")
    }

    @Test("RedisSessionStore over TLS through random splits: the conformance suite, 200 kB and 1 MB values", .needsRedisAndOpenSSL)
    func redis() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await SharedTLSServers.redis.value
        let proxy = try Self.proxy(upstreamPort: redis.tlsPort, "redis")
        defer { proxy.stop() }
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(proxy.port)/0?ssl_ca_certs=\(certificates.caFile)", tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = .seconds(30)
        let store = try RedisSessionStore(configuration: configuration)
        defer { store.client.close() }
        try await Self.exercise(store, through: proxy)
    }

    @Test("MemcachedSessionStore over TLS through random splits: the conformance suite, 200 kB and 1 MB values", .needsMemcachedAndOpenSSL)
    func memcached() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await SharedTLSServers.memcached.value
        let proxy = try Self.proxy(upstreamPort: memcached.port, "memcached")
        defer { proxy.stop() }
        var configuration = try MemcachedConfiguration(url: "memcached+tls://127.0.0.1:\(proxy.port)?ssl_ca_certs=\(certificates.caFile)", tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = .seconds(30)
        let store = try MemcachedSessionStore(configuration: configuration)
        defer { store.client.close() }
        try await Self.exercise(store, through: proxy)
    }
}
