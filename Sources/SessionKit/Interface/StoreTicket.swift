/// What a store-backed interface keeps about a session it loaded, from the open to the
/// commit: where the session is stored and what was read there.
///
/// The session carries it (``Session/State/ticket``) but never reads it: only the interface
/// that loaded the session does.
struct StoreTicket: Sendable {
    /// The store key the session was read under.
    var key: String
    /// The bytes read, kept when the session may be merged into its stored entry
    /// (changed-keys save mode), so that the merge's first attempt needs no second read.
    var loadedBytes: [UInt8]?
    /// The version of the entry read, when the store gave it in the same step (conditional saves).
    var version: SessionStoreVersion?
    /// Where an ``ImmediateSessionStore`` keeps the entry, or -1: a hint for the save.
    var hint: Int32 = -1
}
