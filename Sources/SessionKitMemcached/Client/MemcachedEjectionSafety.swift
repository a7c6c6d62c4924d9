/// What keeps an ejected server from bringing old items back (see ``MemcachedClient``).
///
/// While a server N is off the ring, its keys are read and written on their fallback server F
/// (where the ring without N puts them). Two things would bring ended sessions back:
///
/// - N returns with the items it held when it left. A logout while it was away deleted on F,
///   so N would serve the logged-in session again. The client therefore flushes N
///   (`flush_all`) before putting it back on the ring, and keeps it off while the flush fails.
/// - F keeps what was written to it during the outage. If N leaves again, F would serve those
///   copies, even of sessions deleted while N was up. The client therefore deletes a key on
///   its fallback server too whenever it deletes it (``MemcachedClient/delete(_:)``), and
///   ``MemcachedSessionStore`` does the same after a miss on the owner.
///
/// Both apply only with ``MemcachedConfiguration/ejectsDeadServers`` and several servers.
///
/// Not public: the other values exist so that tests can show what each protection prevents.
struct MemcachedEjectionSafety: Sendable {
    /// Whether a returning server is flushed before it is put back (`false` only in tests: it
    /// is then put back once it answers `version`).
    let flushesReturningServers: Bool
    /// Whether deletes, and the store's misses, also delete on the key's fallback server
    /// (`false` only in tests).
    let cleansFallbackServer: Bool

    /// The behaviour of every client.
    static let standard = MemcachedEjectionSafety(flushesReturningServers: true, cleansFallbackServer: true)
    /// Test-only: a returning server is put back with the items it held. Never use outside tests.
    static let withoutFlush = MemcachedEjectionSafety(flushesReturningServers: false, cleansFallbackServer: true)
    /// Test-only: nothing is deleted on fallback servers. Never use outside tests.
    static let withoutFallbackCleanup = MemcachedEjectionSafety(flushesReturningServers: true, cleansFallbackServer: false)
}
