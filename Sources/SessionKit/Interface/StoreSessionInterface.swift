/// A session interface that keeps sessions in a server-side ``SessionStore``; the cookie
/// carries only the session ID.
///
/// The store layout is sanic_session's: key `prefix + sessionID`, value the session's data as
/// a compact UTF-8 JSON object (plus ``Session/createdKey``), time to live
/// ``SessionConfiguration/expiry`` (none for permanent sessions). A Python service using
/// sanic_session on the same store and prefix shares the sessions.
///
/// Behaviour, in order of the request:
/// - Cookie values that are not well-formed IDs (``SessionID/isWellFormed(_:)``) are ignored
///   without store access; up to four well-formed candidates are looked up, first found wins.
/// - A well-formed ID the store does not know gets a fresh ID, unless
///   ``SessionConfiguration/adoptUnknownIDs`` is set.
/// - A stored entry that is not a JSON object is left untouched and a fresh session starts.
/// - A session past ``SessionConfiguration/absoluteLifetime`` is deleted and replaced.
/// - With ``SessionConfiguration/rolling``, loading also refreshes the entry's time to live
///   (one `GETEX`-style call), and a session that was only read gets its cookie re-sent.
/// - On commit: modified and non-empty: saved and the cookie sent; emptied or invalidated:
///   deleted and the cookie expired; after ``Session/regenerateID()`` the old entry is deleted.
/// - A session that ended while the request held it (deleted by a logout in another request,
///   expired, evicted) is never written back: a loaded session is saved only over its live
///   entry (``SessionStore/replace(key:value:ttl:)``, or a conditional save), and a
///   regenerated one only while the entry under its old ID is live. Otherwise the request's
///   changes are dropped, the cookie is expired and ``Session/changesDiscarded`` is set.
public struct StoreSessionInterface<Store: SessionStore>: SessionInterface {
    /// The store holding the sessions.
    public let store: Store
    /// The cookie and lifetime options.
    public var configuration: SessionConfiguration { core.configuration }
    /// The clock used for creation times, lifetimes and cookie expiry dates.
    public var clock: SessionClock { core.clock }

    /// The request path, in a non-generic class so that it is compiled once and fully
    /// optimised whatever the store type.
    let core: StoreSessionCore

    /// Creates an interface over `store`.
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` when `configuration` is invalid.
    public init(store: Store, configuration: SessionConfiguration = .default, clock: SessionClock = .system) throws {
        try configuration.validate()
        if configuration.saveMode == .changedKeys && !(store is any VersionedSessionStore) {
            throw SessionError(
                .invalidConfiguration,
                "saveMode .changedKeys needs a store that saves conditionally (a VersionedSessionStore); \(Store.self) does not, so use saveMode .wholeSession with it")
        }
        self.store = store
        self.core = StoreSessionCore(store: store, configuration: configuration, clock: clock)
    }

    public var storageNamespace: SessionStorageNamespace? {
        SessionStorageNamespace(store: store, prefix: configuration.prefix)
    }

    /// The store key of a session ID: `prefix + id`, or `prefix + base64url(SHA-256(id))`
    /// with ``SessionConfiguration/hashIDsAtRest``.
    public func key(for id: String) -> String {
        core.key(for: id)
    }

    nonisolated(nonsending) public func open(cookieValues: [String]) async throws -> Session {
        try await core.open(cookieValues: cookieValues)
    }

    nonisolated(nonsending) public func commit(_ session: Session, cookieValues: [String]) async throws -> [String] {
        try await core.commit(session, cookieValues: cookieValues).cookie.map { [$0] } ?? []
    }
}

/// An interface whose request path is a ``StoreSessionCore``, which the middleware calls
/// directly.
protocol StoreBackedSessionInterface {
    var core: StoreSessionCore { get }
}

extension StoreSessionInterface: StoreBackedSessionInterface {}
