import SessionKitCrypto

/// The behaviour of ``StoreSessionInterface``, over any store.
///
/// There is one request path. What it does is decided here and in the commit's plan
/// (``StoreSessionCore/plan(_:hadCookie:)``); only the calls to the store come in two forms:
/// asynchronous (``open(cookieValues:)``, ``commit(_:cookieValues:)``) for any store, and
/// synchronous (``openNow(cookieValues:)``, ``commitNow(_:hadCookie:)``) when the store
/// completes its operations without suspending (``ImmediateSessionStore``).
final class StoreSessionCore: Sendable {
    let store: any SessionStore
    let configuration: SessionConfiguration
    let clock: SessionClock
    let prefix: String
    let storeTTL: Int?
    let touchTTL: Int?
    let cookie: SetCookieTemplate
    /// The sessions bound to each user (``Session/bindUser(_:device:)``).
    let users: UserSessionIndex
    /// The store, when sessions are merged into it key by key (changed-keys save mode).
    let versioned: (any VersionedSessionStore)?
    /// The store, when a loaded session is saved whole with a conditional write
    /// (``VersionedSessionStore/savesWholeSessionsConditionally``).
    let conditional: (any VersionedSessionStore)?
    /// The store, when it completes its operations without suspending: sessions then open
    /// with synchronous calls.
    let immediate: (any ImmediateSessionStore)?
    /// True when commits need no asynchronous call either: an ``immediate`` store and
    /// whole-session saves.
    let commitsImmediately: Bool
    /// True when this interface and the ``immediate`` store both read the system clock, so
    /// that one reading serves both.
    let sharesClockWithStore: Bool

    /// How many well-formed cookie values of our name are looked up at most.
    static let maximumCandidates = 4
    /// How many times a changed-keys save re-reads and retries after a conflict.
    static let maximumMergeAttempts = 16

    init(store: any SessionStore, configuration: SessionConfiguration, clock: SessionClock) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.prefix = configuration.prefix
        self.users = UserSessionIndex(store: store, prefix: configuration.prefix, ttl: configuration.storeTTL)
        self.storeTTL = configuration.storeTTL
        self.touchTTL = configuration.rolling ? configuration.storeTTL : nil
        self.cookie = SetCookieTemplate(configuration)
        let versionedStore = store as? any VersionedSessionStore
        self.versioned = configuration.saveMode == .changedKeys ? versionedStore : nil
        self.conditional = versionedStore?.savesWholeSessionsConditionally == true ? versionedStore : nil
        let immediate = store as? any ImmediateSessionStore
        self.immediate = immediate
        self.commitsImmediately = immediate != nil && configuration.saveMode == .wholeSession && conditional == nil
        self.sharesClockWithStore = immediate.map { clock.isSystem && $0.clock.isSystem } ?? false
    }

    func key(for id: String) -> String {
        if configuration.hashIDsAtRest {
            return prefix + Base64URL.encode(SHA256.hash(data: id.utf8))
        }
        return prefix + id
    }

    /// The ``immediate`` store's time at this interface's time `now`: the same reading when
    /// both use the system clock.
    func time(_ now: Double, of store: any ImmediateSessionStore) -> Double {
        sharesClockWithStore ? now : store.clock.now()
    }

    // MARK: Open

    /// Opens the session named by the request's cookies.
    nonisolated(nonsending) func open(cookieValues: [String]) async throws -> Session {
        if immediate != nil { return try openNow(cookieValues: CookieValues(cookieValues)) }
        var opening = Opening(CookieValues(cookieValues), now: clock.now())
        while let key = nextKey(&opening) {
            let loaded: (value: [UInt8], version: SessionStoreVersion?)?
            if let versionedStore = conditional ?? versioned {
                loaded = try await versionedStore.loadForUpdate(key: key, touchTTL: touchTTL)
            } else if let touchTTL {
                loaded = try await store.loadAndTouch(key: key, ttl: touchTTL).map { ($0, nil) }
            } else {
                loaded = try await store.load(key: key).map { ($0, nil) }
            }
            switch take(loaded?.value, &opening, ticket: StoreTicket(key: key, version: loaded?.version)) {
            case .session(let session): return session
            case .next: continue
            case .ended: try await store.delete(key: key)
            }
        }
        return try freshSession(opening)
    }

    /// ``open(cookieValues:)`` without suspending; only for an ``immediate`` store.
    func openNow(cookieValues: CookieValues) throws -> Session {
        guard let store = immediate else { preconditionFailure("openNow needs a store that completes its operations without suspending") }
        var opening = Opening(cookieValues, now: clock.now())
        while let key = nextKey(&opening) {
            var hint: Int32 = -1
            let bytes = store.loadNow(key: key, touchTTL: touchTTL, hint: &hint, now: time(opening.now, of: store))
            switch take(bytes, &opening, ticket: StoreTicket(key: key, hint: hint)) {
            case .session(let session): return session
            case .next: continue
            case .ended: store.deleteNow(key: key)
            }
        }
        return try freshSession(opening)
    }

    /// One open in progress: the candidates left to look up, and what the looked-up ones gave.
    struct Opening {
        var candidates: Candidates
        /// The time of the request.
        let now: Double
        /// The first well-formed candidate, which ``SessionConfiguration/adoptUnknownIDs`` adopts.
        var firstCandidate: String?
        /// The candidate being looked up.
        var id = ""
        /// True when a candidate's entry exists but cannot be used.
        var sawUnusableEntry = false

        init(_ cookieValues: CookieValues, now: Double) {
            self.candidates = Candidates(cookieValues)
            self.now = now
        }
    }

    /// The well-formed cookie values worth looking up, in order: duplicates skipped, at most
    /// ``maximumCandidates``.
    struct Candidates: IteratorProtocol {
        let values: CookieValues
        var position = 0
        var tried = 0

        init(_ values: CookieValues) { self.values = values }

        mutating func next() -> String? {
            while position < values.count && tried < StoreSessionCore.maximumCandidates {
                let value = values[position]
                position += 1
                guard SessionID.isWellFormed(value) else { continue }
                if position > 1 && values[..<(position - 1)].contains(value) { continue }
                tried += 1
                return value
            }
            return nil
        }
    }

    /// The store key of the next candidate to look up, or `nil` when none is left.
    func nextKey(_ opening: inout Opening) -> String? {
        guard let id = opening.candidates.next() else { return nil }
        if opening.firstCandidate == nil { opening.firstCandidate = id }
        opening.id = id
        return key(for: id)
    }

    /// What the bytes stored for the candidate being looked up give.
    enum Taken {
        /// Its session: the open is done.
        case session(Session)
        /// Nothing usable: look up the next candidate.
        case next
        /// A session that has ended (past its absolute lifetime, or without a creation time it
        /// can be checked against): delete the entry, then look up the next candidate.
        case ended
    }

    /// What `bytes`, loaded for the candidate being looked up, give; `ticket` says where they
    /// were read.
    func take(_ bytes: [UInt8]?, _ opening: inout Opening, ticket: StoreTicket) -> Taken {
        guard let bytes else { return .next }
        guard let (data, stored) = (try? JSON.decodeStoredSession(bytes)) ?? nil else {
            opening.sawUnusableEntry = true
            return .next
        }
        let now = opening.now
        var created = now
        if let stored {
            if let value = stored.doubleValue, Self.plausibleCreation(value, now: now) {
                created = value
            } else if configuration.absoluteLifetime != nil {
                // The lifetime cannot be enforced from a forged or corrupt creation time.
                opening.sawUnusableEntry = true
                return .ended
            }
        }
        if let limit = configuration.absoluteLifetime, now - created >= Double(limit) {
            opening.sawUnusableEntry = true
            return .ended
        }
        // A session that may be merged (changed-keys mode) keeps the bytes it was read from
        // and records its changes.
        var ticket = ticket
        if versioned != nil { ticket.loadedBytes = bytes }
        return .session(
            Session(
                id: opening.id, data: data, createdAt: created, accessedAt: now, clock: clock, ticket: ticket,
                tracksChanges: versioned != nil))
    }

    /// The session a request gets when no candidate gave one.
    func freshSession(_ opening: Opening) throws -> Session {
        let now = opening.now
        // An ID whose entry exists but cannot be used (not JSON, past its absolute lifetime) is
        // never adopted: that would overwrite the entry, or extend a session that has ended.
        if configuration.adoptUnknownIDs, !opening.sawUnusableEntry, let firstCandidate = opening.firstCandidate {
            return Session(id: firstCandidate, isNew: true, createdAt: now, accessedAt: now, clock: clock)
        }
        return Session(id: try SessionID.generate(), isNew: true, createdAt: now, accessedAt: now, clock: clock)
    }

    /// The creation times accepted from a stored entry: not before 1970, not in the future
    /// (five minutes of clock skew allowed). Anything else is not a time this library wrote.
    static func plausibleCreation(_ value: Double, now: Double) -> Bool {
        value.isFinite && value >= 0 && value <= now + 300
    }
}
