import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing

/// With `ejectsDeadServers`, a server that goes off the ring and comes back must not bring an
/// ended session back: neither from what it held when it left (it is flushed before it is put
/// back), nor, the next time it leaves, from what its fallback server was given during an
/// earlier outage (deletes and misses also delete there).
///
/// Three memcached servers, each behind a ``FaultProxy`` that takes it off the network while
/// it keeps its data; sessions go through `SessionMiddleware` and `StoreSessionInterface`.
/// Each test also runs a control client with one protection turned off
/// (``MemcachedEjectionSafety``), and shows that the session then comes back.
@Suite("memcached ejection does not bring ended sessions back", .needsMemcached, .serialized)
struct MemcachedEjectionTests {
    /// Servers, proxies and a middleware over a client that ejects dead servers.
    struct Pool: Sendable {
        let servers: [MemcachedServer]
        let proxies: [FaultProxy]
        let store: MemcachedSessionStore
        let interface: StoreSessionInterface<MemcachedSessionStore>
        let middleware: SessionMiddleware
        var client: MemcachedClient { store.client }
        var configured: [MemcachedConfiguration.Server] { client.configuration.servers }

        static func start(_ safety: MemcachedEjectionSafety, count: Int = 3) async throws -> Pool {
            var servers: [MemcachedServer] = []
            var proxies: [FaultProxy] = []
            do {
                for _ in 0..<count {
                    let server = try await MemcachedServer.start()
                    servers.append(server)
                    proxies.append(try FaultProxy(upstreamPort: server.port))
                }
                var configuration = try MemcachedConfiguration(testing: proxies.map { "127.0.0.1:\($0.port)" }.joined(separator: ","))
                    .withFastReconnect()
                configuration.connectionsPerServer = 1
                configuration.ejectsDeadServers = true
                configuration.serverFailureLimit = 2
                configuration.deadServerRetryInterval = .milliseconds(200)
                let client = try MemcachedClient(configuration: configuration, group: .shared(count: 1), ejectionSafety: safety)
                let store = MemcachedSessionStore(client: client)
                let interface = try StoreSessionInterface(store: store, configuration: SessionConfiguration(prefix: "ejection:"))
                return Pool(servers: servers, proxies: proxies, store: store, interface: interface, middleware: try SessionMiddleware(interface))
            } catch {
                for proxy in proxies { proxy.stop() }
                for server in servers { server.stop() }
                throw error
            }
        }

        func stop() {
            client.close()
            for proxy in proxies { proxy.stop() }
            for server in servers { server.stop() }
        }

        /// The store key of the session whose cookie `browser` holds.
        func key(of browser: TestBrowser) throws -> String {
            let id = try #require(browser.cookies["session"], "the browser holds no session cookie")
            return interface.key(for: id)
        }

        /// The server that owns `key` on the ring of every configured server.
        func owner(of key: String) -> Int {
            KetamaRing(names: configured.map(\.ketamaName)).server(for: Array(key.utf8))!
        }

        /// A browser signed in as alice, whose session key belongs to server `index` on the full
        /// ring (while that server is off the ring, it is stored on its fallback server).
        func signIn(ownedBy index: Int) async throws -> TestBrowser {
            for _ in 0..<100 {
                let browser = TestBrowser()
                _ = try await browser.request(middleware) { context in
                    let session = try await context.session("session")
                    try session.regenerateID()
                    session["user"] = "alice"
                }
                if owner(of: try key(of: browser)) == index { return browser }
            }
            throw FixtureError("no session of 100 landed on server \(index)")
        }

        /// What a request with `cookies` reads as `user`.
        func user(_ cookies: [String]) async throws -> SessionValue? {
            try await middleware.handle(cookieHeaders: cookies) { try await $0.session("session")["user"] }.value
        }

        /// Signs `browser` out (`invalidate()`).
        func signOut(_ browser: TestBrowser) async throws {
            _ = try await browser.request(middleware) { try await $0.session("session").invalidate() }
        }

        /// Takes server `index` off the network (it keeps its data) and waits until the client
        /// ejected it.
        func takeDown(_ index: Int) async throws {
            proxies[index].setDown(true)
            try await eventually("the proxy stops listening") { !proxies[index].isListening }
            try await eventually("server \(index) is ejected") {
                _ = try? await client.version(serverAt: index)
                return client.ejectedServers.contains(configured[index])
            }
        }

        /// Puts server `index` back on the network and waits until the client put it back on
        /// the ring (after flushing it, unless the control turned that off).
        func bringBack(_ index: Int, key: String) async throws {
            proxies[index].setDown(false)
            try await eventually("server \(index) is back on the ring") {
                // Routing a key starts the readmission of a server whose retry time has come.
                (try? client.server(for: key)) == configured[index] && client.ejectedServers.isEmpty
            }
        }
    }

    @Test("ejection is off by default")
    func offByDefault() {
        #expect(MemcachedConfiguration().ejectsDeadServers == false)
    }

    /// Signed in on N; N goes off the ring; the user signs out (the request finds no session on
    /// the fallback server, the cookie is expired); N comes back. The old cookie must not find
    /// the session N still held: N is flushed before it is put back. The control puts N back
    /// without the flush and the session comes back.
    @Test("a server that comes back after a logout does not serve the ended session", arguments: [true, false])
    func returningServerIsFlushed(flushes: Bool) async throws {
        let pool = try await Pool.start(flushes ? .standard : .withoutFlush)
        defer { pool.stop() }
        let victim = 0
        let browser = try await pool.signIn(ownedBy: victim)
        let oldCookie = browser.cookieHeaders
        let key = try pool.key(of: browser)
        #expect(try pool.client.server(for: key) == pool.configured[victim])
        #expect(try await pool.user(oldCookie) == "alice")

        try await pool.takeDown(victim)
        #expect(try pool.client.server(for: key) != pool.configured[victim])
        try await pool.signOut(browser)
        #expect(browser.cookies["session"] == nil, "the logout expires the cookie")
        #expect(try await pool.user(oldCookie) == nil, "while N is off the ring, the session is gone")

        try await pool.bringBack(victim, key: key)
        let user = try await pool.user(oldCookie)
        if flushes {
            #expect(user == nil, "the returning server must not serve the session ended while it was away")
            #expect(try await pool.store.load(key: key) == nil)
        } else {
            #expect(user == "alice", "the control puts N back unflushed: the ended session comes back")
        }
    }

    /// N goes off the ring; alice signs in twice, both sessions owned by N and so stored on its
    /// fallback F; N comes back (flushed): both sessions are gone. While N is up, the first
    /// cookie is used again (no session: the user signs in again) and the second session is
    /// deleted by the application (as a logout or a revocation deletes it). N goes off the
    /// ring a second time: F must not serve either of its old copies. The control, which
    /// deletes nothing on fallback servers, serves both again.
    @Test("a second outage does not bring back the copies the fallback server got in the first", arguments: [true, false])
    func secondOutage(cleansFallback: Bool) async throws {
        let pool = try await Pool.start(cleansFallback ? .standard : .withoutFallbackCleanup)
        defer { pool.stop() }
        let victim = 0
        try await pool.takeDown(victim)
        let returning = try await pool.signIn(ownedBy: victim)
        let revoked = try await pool.signIn(ownedBy: victim)
        let returningCookie = returning.cookieHeaders, revokedCookie = revoked.cookieHeaders
        let returningKey = try pool.key(of: returning), revokedKey = try pool.key(of: revoked)
        // Where each key lives while N is off the ring (its own fallback server).
        let fallbacks = try [returningKey, revokedKey].map { try pool.client.server(for: $0) }
        #expect(!fallbacks.contains(pool.configured[victim]))
        #expect(try await pool.user(returningCookie) == "alice", "during the outage the session lives on the fallback server")

        try await pool.bringBack(victim, key: returningKey)
        // N was flushed: the sessions written to F during the outage are not found on N.
        #expect(try await pool.user(returningCookie) == nil)
        try await pool.store.delete(key: revokedKey)
        // Nothing is routed to F for these keys while N is up, so only a direct look at F shows
        // what it holds.
        for (key, fallback) in zip([returningKey, revokedKey], fallbacks) {
            let onFallback = try MemcachedClient(testing: "memcached://\(fallback.description)")
            defer { onFallback.close() }
            let held = try await onFallback.get(key) != nil
            #expect(held == !cleansFallback, "\(fallback) holds the copy: \(held)")
        }

        try await pool.takeDown(victim)
        #expect(try [returningKey, revokedKey].map { try pool.client.server(for: $0) } == fallbacks)
        let returningUser = try await pool.user(returningCookie)
        let revokedUser = try await pool.user(revokedCookie)
        if cleansFallback {
            #expect(returningUser == nil, "a session lost when N came back stays lost")
            #expect(revokedUser == nil, "a session deleted while N was up stays deleted")
        } else {
            #expect(returningUser == "alice", "the control leaves F's copy: the session comes back")
            #expect(revokedUser == "alice", "the control leaves F's copy: the deleted session comes back")
        }
    }

    /// The flush happens before the server is back: while it still cannot be reached, it stays
    /// off the ring however often its retry time comes.
    @Test("a server that cannot be flushed stays off the ring")
    func unreachableServerStaysEjected() async throws {
        let pool = try await Pool.start(.standard)
        defer { pool.stop() }
        let victim = 1
        try await pool.takeDown(victim)
        let key = try #require((0..<1000).map { "ejection:probe:\($0)" }.first { pool.owner(of: $0) == victim })
        let failedBefore = pool.client.failedReadmissions.load(ordering: .relaxed)
        try await eventually("two readmissions were tried and failed") {
            // Routing starts a readmission whenever the retry time has come.
            let now = try pool.client.server(for: key)
            #expect(now != pool.configured[victim])
            _ = try? await pool.store.load(key: key)
            return pool.client.failedReadmissions.load(ordering: .relaxed) >= failedBefore + 2
        }
        #expect(pool.client.ejectedServers == [pool.configured[victim]])
        try await pool.bringBack(victim, key: key)
    }

    @Test("a key's fallback server is where the ring without its owner puts it")
    func fallbackIsTheRingWithoutTheOwner() {
        let names = (0..<5).map { "10.0.0.\($0):11211" }
        let ring = KetamaRing(names: names)
        for i in 0..<500 {
            let key = Array("session:\(i)".utf8)
            let order = ring.servers(for: key, count: 2)
            #expect(order.count == 2)
            #expect(order[0] == ring.server(for: key))
            let without = names.indices.filter { $0 != order[0] }
            let reduced = KetamaRing(names: without.map { names[$0] })
            #expect(without[reduced.server(for: key)!] == order[1], "key \(i)")
        }
        #expect(ring.servers(for: Array("k".utf8), count: 9).count == 5)
        #expect(KetamaRing(names: ["one"]).servers(for: Array("k".utf8), count: 2) == [0])
    }
}
