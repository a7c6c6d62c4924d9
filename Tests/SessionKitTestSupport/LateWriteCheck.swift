import SessionKit

/// A save the store's client gave up on, executed by the server after a newer save that was
/// acknowledged: the hazard of every network store whose client reconnects after a timeout.
///
/// The check, through `middleware` over a store whose single connection goes through `proxy`:
/// 1. a request stores `counter = 0` (acknowledged);
/// 2. request A reads the session, the proxy then holds the connection (as a stalled server
///    would, keeping the bytes in its socket buffer), and A sets `counter = 1`: its save times
///    out, A gets an error, the client closes the connection as stalled;
/// 3. request B, on a new connection, sets `counter = 2` (acknowledged);
/// 4. the proxy delivers A's held save to the server, which executes it now;
/// 5. a last request reads `counter`.
///
/// A store that saves loaded sessions with plain writes ends with `1`, B's acknowledged write
/// lost; a store that saves them conditionally ends with `2`.
public enum LateWriteCheck {
    public struct Outcome: Sendable {
        /// Whether request A ended in an error (it must: its save was never answered).
        public var abandonedRequestFailed: Bool
        /// The value read at the end.
        public var finalCounter: SessionValue?
        /// How many held connections delivered their bytes to the server.
        public var heldConnectionsDelivered: Int
    }

    /// Runs the check through a middleware over `store`, whose client connects through
    /// `proxy` with one connection; with `plainWrites` the store sits behind a wrapper that is
    /// not a ``VersionedSessionStore`` and whose replace is a plain save (``PlainSaveStore``),
    /// so the interface saves with plain writes (the control).
    public static func run<Store: VersionedSessionStore>(store: Store, proxy: FaultProxy, plainWrites: Bool) async throws -> Outcome {
        let sessions = try SessionConfiguration(prefix: "late:\(UInt32.random(in: 0...UInt32.max)):")
        let interface: any SessionInterface =
            plainWrites
            ? try StoreSessionInterface(store: PlainSaveStore(store), configuration: sessions)
            : try StoreSessionInterface(store: store, configuration: sessions)
        return try await run(middleware: SessionMiddleware(interface), proxy: proxy)
    }

    public static func run(middleware: SessionMiddleware, proxy: FaultProxy) async throws -> Outcome {
        let browser = TestBrowser()
        try await retrying("the first save") { _ = try await browser.request(middleware) { try await $0.session()["counter"] = .int(0) } }
        // Request A, until its handler runs (on a slow machine its load may time out first).
        var abandonedRequestFailed = false
        var held = false
        for _ in 0..<10 where !held {
            do {
                _ = try await middleware.handle(cookieHeaders: browser.cookieHeaders) { context in
                    let session = try await context.session()
                    _ = session["counter"]
                    proxy.holdOpenConnections()
                    held = true
                    session["counter"] = .int(1)
                }
            } catch {
                abandonedRequestFailed = held
            }
        }
        guard held else { throw FixtureError("LateWriteCheck: request A never reached its handler") }
        // B: the client reconnects on a new connection, which the proxy forwards.
        try await retrying("request B") { _ = try await browser.request(middleware) { try await $0.session()["counter"] = .int(2) } }
        proxy.releaseHeldConnections()
        // Delivery waits on the server's replies (the proxy's thread reads them): polled,
        // bounded; the outcome reports whether it happened.
        _ = try await Poll.holds(within: .seconds(5)) { proxy.heldConnectionsDelivered > 0 }
        var finalCounter: SessionValue?
        try await retrying("the last read") { finalCounter = try await browser.request(middleware) { try await $0.session()["counter"] }.value }
        return Outcome(
            abandonedRequestFailed: abandonedRequestFailed, finalCounter: finalCounter,
            heldConnectionsDelivered: proxy.heldConnectionsDelivered)
    }

    /// Runs `body` until it succeeds (for up to 60 s): the store may be reconnecting, or slow.
    private static func retrying(_ what: String, _ body: () async throws -> Void) async throws {
        try await Poll.retrying("LateWriteCheck: \(what)", within: .seconds(60), every: .milliseconds(50), body)
    }
}
