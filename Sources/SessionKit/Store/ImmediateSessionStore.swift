/// A store that completes every operation without suspending: its entries live in the
/// process, behind locks held for a few steps at a time.
///
/// This is a capability, not a store type: a store-backed interface asks its store for it and,
/// when the store has it, opens sessions (and, for whole-session saves, commits them) with
/// synchronous calls instead of asynchronous ones, and the middleware then serves the request
/// without a suspension point. The in-memory store adopts it.
///
/// Each method does what its asynchronous counterpart of ``SessionStore`` does, under the
/// same contract, at a time `now` read from the store's ``clock`` (so that a caller using the
/// same clock reads it once per request).
protocol ImmediateSessionStore: SessionStore {
    /// The clock that times the store's expiry.
    var clock: SessionClock { get }

    /// ``SessionStore/load(key:)``, or ``SessionStore/loadAndTouch(key:ttl:)`` when `touchTTL`
    /// is given.
    ///
    /// - Parameter hint: set to where the store keeps the entry, or -1; a following write of
    ///   the same key may pass it back to skip a lookup.
    func loadNow(key: String, touchTTL: Int?, hint: inout Int32, now: Double) -> [UInt8]?

    /// ``SessionStore/save(key:value:ttl:)``; `hint` as ``loadNow(key:touchTTL:hint:now:)``
    /// gave it for `key`, or -1. A hint that no longer holds `key` is ignored.
    func saveNow(key: String, value: [UInt8], ttl: Int?, hint: Int32, now: Double) throws(SessionError)

    /// ``SessionStore/replace(key:value:ttl:)``; `hint` as for ``saveNow(key:value:ttl:hint:now:)``.
    func replaceNow(key: String, value: [UInt8], ttl: Int?, hint: Int32, now: Double) throws(SessionError) -> Bool

    /// ``SessionStore/delete(key:)``.
    func deleteNow(key: String)

    /// Runs `body` on the live value of `key` (`nil` when there is none) in one step, then
    /// stores what `body` left (`nil` deletes the entry) with time to live `ttl`.
    func updateNow<R>(key: String, ttl: Int?, _ body: (inout [UInt8]?) -> R) -> R
}
