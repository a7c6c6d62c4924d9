import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

@Suite("Ketama ring")
struct KetamaRingTests {
    @Test("the ring has 160 points per server and spreads keys roughly evenly")
    func spread() {
        let ring = KetamaRing(names: ["10.0.0.1", "10.0.0.2:11212", "10.0.0.3:11213"])
        var counts = [0, 0, 0]
        for i in 0..<30_000 { counts[ring.server(for: Array("key:\(i)".utf8))!] += 1 }
        for count in counts { #expect(count > 5_000, "\(counts)") }
        #expect(KetamaRing(names: []).server(for: Array("k".utf8)) == nil)
        #expect(KetamaRing.hash(key: Array("".utf8)) == 0xD98C_1DD4, "first four bytes of MD5(\"\") = d41d8cd9, little-endian")
    }

    @Test("removing a server moves only its keys")
    func removal() {
        let names = (1...5).map { "10.0.0.\($0):11211" }
        let full = KetamaRing(names: names)
        let without = KetamaRing(names: names.enumerated().filter { $0.offset != 2 }.map(\.element))
        let remaining = names.enumerated().filter { $0.offset != 2 }.map(\.offset)
        var moved = 0
        for i in 0..<20_000 {
            let key = Array("session:\(i)".utf8)
            let before = full.server(for: key)!
            let after = remaining[without.server(for: key)!]
            if before == 2 { moved += 1 } else { #expect(after == before, "key \(i) moved although its server stayed") }
        }
        #expect(moved > 0)
    }
}

/// Placement compared with libmemcached's ketama_weighted distribution through pylibmc, on real
/// servers, including servers on port 11211 (hashed without their port).
@Suite("Ketama ring against libmemcached (pylibmc)", .needsMemcached, .serialized,
       .enabled(if: MemcachedPython.hasPylibmc, "no Python with pylibmc (pip install -r Tests/Interop/memcached/requirements.txt); set CI=true to make this a failure"))
struct KetamaInteropTests {
    static func keys(_ count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let id = (0..<4).map { _ in String(generator.next(), radix: 16) }.joined()
            return i % 3 == 0 ? "session:\(id)" : "k\(i):\(id.prefix(Int(generator.next() % 40) + 1))"
        }
    }

    /// Starts `count` servers: the first `onDefaultPort` on 127.0.0.N:11211, the rest on free ports.
    static func servers(_ count: Int, onDefaultPort: Int, firstHost: Int) async throws -> [MemcachedServer] {
        var servers: [MemcachedServer] = []
        for i in 0..<count {
            let options = i < onDefaultPort
                ? MemcachedServer.Options(host: "127.0.0.\(firstHost + i)", port: 11211)
                : MemcachedServer.Options()
            servers.append(try await MemcachedServer.start(options))
        }
        return servers
    }

    static func pylibmcPlacement(_ servers: [String], _ keys: [String]) async throws -> [String: Int] {
        let input = try JSONSerialization.data(withJSONObject: ["servers": servers, "keys": keys])
        let output = try await MemcachedPython.run("ketama_placement.py", [], input: input)
        print("ketama reference: libmemcached \(output["libmemcached"] ?? "?")")
        let placement = try #require(output["placement"] as? [String: Int])
        try #require(placement.count == keys.count, "pylibmc stored every key")
        return placement
    }

    @Test("thousands of keys land on the same server as with libmemcached", arguments: [(3, 1), (5, 2)])
    func sameAsLibmemcached(_ serverCount: Int, _ onDefaultPort: Int) async throws {
        let servers = try await Self.servers(serverCount, onDefaultPort: onDefaultPort, firstHost: serverCount == 3 ? 2 : 10)
        defer { for server in servers { server.stop() } }
        let keys = Self.keys(5000, seed: UInt64(serverCount))
        let reference = try await Self.pylibmcPlacement(servers.map(\.address), keys)
        let client = try MemcachedClient(configuration: MemcachedConfiguration(testing: servers.map(\.address).joined(separator: ",")))
        defer { client.close() }
        var mismatches: [String] = []
        for key in keys {
            let ours = try client.server(for: key)
            let theirs = client.configuration.servers[reference[key]!]
            if ours != theirs { mismatches.append(key) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(keys.count) keys placed differently, e.g. \(mismatches.prefix(5))")
        // And through the network: our client reads every key pylibmc wrote.
        let found = try await client.get(Array(keys.prefix(1000)))
        #expect(found.count == 1000)
        #expect(found.allSatisfy { $0.value.value == Array($0.key.utf8) })
        #expect(Set(reference.values).count == serverCount, "every server got keys")
    }

    @Test("Unix socket servers are hashed as path:0, as libmemcached does")
    func unixSockets() async throws {
        var servers: [MemcachedServer] = []
        defer { for server in servers { server.stop() } }
        for _ in 0..<3 { servers.append(try await MemcachedServer.start(.init(unixSocket: true))) }
        let keys = Self.keys(2000, seed: 77)
        let reference = try await Self.pylibmcPlacement(servers.map(\.address), keys)
        let client = try MemcachedClient(configuration: MemcachedConfiguration(testing: servers.map(\.address).joined(separator: ",")))
        defer { client.close() }
        let mismatches = try keys.filter { try client.server(for: $0) != client.configuration.servers[reference[$0]!] }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(keys.count) keys placed differently")
        #expect(client.configuration.servers.allSatisfy { $0.ketamaName.hasSuffix(":0") })
    }

    @Test("killing one server mid-run moves only its keys; sessions on the others survive; it is retried later")
    func deadServer() async throws {
        let servers = try await Self.servers(5, onDefaultPort: 1, firstHost: 20)
        defer { for server in servers { server.stop() } }
        var configuration = try MemcachedConfiguration(testing: servers.map(\.address).joined(separator: ",")).withFastReconnect()
        configuration.connectionsPerServer = 1
        configuration.ejectsDeadServers = true
        // Long enough that the checks below finish before the server is tried again, even in a
        // sanitizer build on a loaded machine.
        configuration.deadServerRetryInterval = .seconds(15)
        let store = try MemcachedSessionStore(configuration: configuration)
        let client = store.client
        defer { client.close() }
        let keys = (0..<1000).map { "session:dead:\($0)" }
        var before: [String: MemcachedConfiguration.Server] = [:]
        for key in keys {
            try await store.save(key: key, value: Array(key.utf8), ttl: 600)
            before[key] = try client.server(for: key)
        }
        let victim = configuration.servers[3]
        let placed = before
        servers[3].stop()
        // Keep the port while the server is down: a socket bound to it, not listening, refuses
        // connections as a dead server's port does, and no other test's server can take it.
        let held = try HeldPort(port: servers[3].port)
        // Requests keep coming; those for the dead server fail until it is ejected.
        try await eventually("the dead server is ejected") {
            for key in keys where placed[key] == victim { _ = try? await store.load(key: key) }
            return client.ejectedServers == [victim]
        }
        let remainingNames = configuration.servers.filter { $0 != victim }
        let reduced = KetamaRing(names: remainingNames.map(\.ketamaName))
        // Placement first (no I/O, so the whole ring is seen before the retry interval ends),
        // then the stored values.
        for key in keys {
            let now = try client.server(for: key)
            if before[key] == victim {
                #expect(now != victim)
                #expect(now == remainingNames[reduced.server(for: Array(key.utf8))!], "moved keys go where a 4-server ring puts them")
            } else {
                #expect(now == before[key], "\(key) moved although its server is alive")
            }
        }
        var lost = 0
        for key in keys {
            if before[key] == victim {
                if try await store.load(key: key) == nil { lost += 1 }
            } else {
                #expect(try await store.load(key: key) == Array(key.utf8), "sessions on live servers survive")
            }
        }
        #expect(lost == keys.filter { before[$0] == victim }.count, "the dead server's sessions are gone, not found elsewhere")
        // Sessions can be written again for the moved keys.
        let moved = try #require(keys.first { before[$0] == victim })
        try await store.save(key: moved, value: Array("again".utf8), ttl: 600)
        #expect(try await store.load(key: moved) == Array("again".utf8))
        // The server comes back; after the retry interval it is put back on the ring.
        held.release()
        try await servers[3].restart()
        try await eventually("the server is readmitted", within: .seconds(45)) {
            _ = try? await store.load(key: moved)
            return client.ejectedServers.isEmpty && (try? client.server(for: moved)) == victim
        }
        #expect(try await store.load(key: keys.first { before[$0] != victim }!) != nil)
    }
}
