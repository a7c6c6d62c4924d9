import SessionKitCrypto

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

/// The behaviour of ``StoreSessionInterface``, over any store.
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
    /// The store when it is an ``InMemorySessionStore``, reached with synchronous calls.
    let memory: InMemorySessionStore?
    /// ``memory`` when commits need no asynchronous call either (whole-session saves).
    let synchronousMemory: InMemorySessionStore?
    /// True when this interface and ``memory`` both read the system clock, so that one
    /// reading serves both.
    let sharesClockWithMemory: Bool

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
        let memory = store as? InMemorySessionStore
        self.memory = memory
        self.synchronousMemory = configuration.saveMode == .wholeSession && conditional == nil ? memory : nil
        self.sharesClockWithMemory = memory.map { clock.isSystem && $0.clock.isSystem } ?? false
    }

    func key(for id: String) -> String {
        if configuration.hashIDsAtRest {
            return prefix + Base64URL.encode(SHA256.hash(data: id.utf8))
        }
        return prefix + id
    }

    /// The well-formed cookie values worth looking up, in order: duplicates skipped, at most
    /// ``maximumCandidates``.
    struct Candidates<Values: RandomAccessCollection<String>>: IteratorProtocol where Values.Index == Int {
        let values: Values
        var position = 0
        var tried = 0

        init(_ values: Values) { self.values = values }

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

    nonisolated(nonsending) func open(cookieValues: [String]) async throws -> Session {
        if let memory { return try openNow(cookieValues: CookieValues(cookieValues), memory: memory) }
        let now = clock.now()
        var candidates = Candidates(cookieValues)
        var firstCandidate: String?
        var sawUnusableEntry = false
        while let id = candidates.next() {
            if firstCandidate == nil { firstCandidate = id }
            let key = key(for: id)
            let bytes: [UInt8]?
            var version: SessionStoreVersion?
            if let versionedStore = conditional ?? versioned {
                let loaded = try await versionedStore.loadForUpdate(key: key, touchTTL: touchTTL)
                bytes = loaded?.value
                version = loaded?.version
            } else if let touchTTL {
                bytes = try await store.loadAndTouch(key: key, ttl: touchTTL)
            } else {
                bytes = try await store.load(key: key)
            }
            switch lookup(bytes, id: id, key: key, now: now, version: version, slot: -1) {
            case .found(let session): return session
            case .absent: break
            case .unusable: sawUnusableEntry = true
            case .ended:
                try await store.delete(key: key)
                sawUnusableEntry = true
            }
        }
        return try freshSession(firstCandidate: firstCandidate, sawUnusableEntry: sawUnusableEntry, now: now)
    }

    /// ``open(cookieValues:)`` over the in-memory store, without suspension points.
    func openNow(cookieValues: CookieValues, memory: InMemorySessionStore) throws -> Session {
        let now = clock.now()
        var candidates = Candidates(cookieValues)
        var firstCandidate: String?
        var sawUnusableEntry = false
        while let id = candidates.next() {
            if firstCandidate == nil { firstCandidate = id }
            let key = key(for: id)
            var slot: Int32 = -1
            let bytes = memory.loadNow(key: key, touchTTL: touchTTL, slot: &slot, now: time(now, of: memory))
            switch lookup(bytes, id: id, key: key, now: now, version: nil, slot: slot) {
            case .found(let session): return session
            case .absent: break
            case .unusable: sawUnusableEntry = true
            case .ended:
                memory.deleteNow(key: key)
                sawUnusableEntry = true
            }
        }
        return try freshSession(firstCandidate: firstCandidate, sawUnusableEntry: sawUnusableEntry, now: now)
    }

    /// The session a request gets when no stored one was found.
    private func freshSession(firstCandidate: String?, sawUnusableEntry: Bool, now: Double) throws -> Session {
        // An ID whose entry exists but cannot be used (not JSON, past its absolute lifetime) is
        // never adopted: that would overwrite the entry, or extend a session that has ended.
        if configuration.adoptUnknownIDs, !sawUnusableEntry, let firstCandidate {
            return Session(id: firstCandidate, isNew: true, createdAt: now, accessedAt: now, clock: clock)
        }
        return Session(id: try SessionID.generate(), isNew: true, createdAt: now, accessedAt: now, clock: clock)
    }

    enum Lookup {
        case found(Session)
        case absent
        case unusable
        /// Past its absolute lifetime, or without a creation time it can be checked against:
        /// the caller deletes the entry, and it is then unusable.
        case ended
    }

    /// The creation times accepted from a stored entry: not before 1970, not in the future
    /// (five minutes of clock skew allowed). Anything else is not a time this library wrote.
    static func plausibleCreation(_ value: Double, now: Double) -> Bool {
        value.isFinite && value >= 0 && value <= now + 300
    }

    /// What the stored `bytes` of session `id` (stored under `key`) give.
    private func lookup(
        _ bytes: [UInt8]?, id: String, key: String, now: Double, version: SessionStoreVersion?, slot: Int32
    ) -> Lookup {
        guard let bytes else { return .absent }
        guard let (data, stored) = (try? JSON.decodeStoredSession(bytes)) ?? nil else { return .unusable }
        var created = now
        if let stored {
            if let value = stored.doubleValue, Self.plausibleCreation(value, now: now) {
                created = value
            } else if configuration.absoluteLifetime != nil {
                // The lifetime cannot be enforced from a forged or corrupt creation time.
                return .ended
            }
        }
        if let limit = configuration.absoluteLifetime, now - created >= Double(limit) { return .ended }
        // A session that may be merged (changed-keys mode) keeps the bytes it was read from
        // and records its changes.
        let session = Session(
            id: id, key: key, data: data, createdAt: created, accessedAt: now, clock: clock,
            loadedBytes: versioned != nil ? bytes : nil, loadedVersion: version, storeSlot: slot)
        return .found(session)
    }

    /// What a commit writes, decided under the session's lock from its state without copying it.
    enum CommitPlan {
        case nothing
        case delete(key: String?, cookie: String?)
        case merge(Session.State)
        case save(Save)
        case cookie(String)
    }

    struct Save {
        var key: String
        var value: [UInt8]
        /// Saved with a write conditional on ``loadedVersion``.
        var conditional: Bool
        /// Saved only over a live entry (a session loaded from the store under ``key``).
        var onlyIfLive: Bool
        /// The entry that must still be live for the save to happen (the old ID's, after
        /// ``Session/regenerateID()`` of a loaded session).
        var requiresLive: String?
        var loadedVersion: SessionStoreVersion?
        var slot: Int32
        /// The entry to delete after the save (the old ID after ``Session/regenerateID()``).
        var replacedKey: String?
        /// The change to the bound user's index, when the session was bound or regenerated.
        var index: IndexUpdate?
        var cookie: String
        var now: Double
    }

    /// A change to a user's session index that a save carries.
    final class IndexUpdate: Sendable {
        let user: String
        let change: UserSessionIndex.Change

        init(user: String, change: UserSessionIndex.Change) {
            self.user = user
            self.change = change
        }
    }

    /// - Parameter hadCookie: true when the request carried a cookie of this interface's name.
    private func plan(_ s: Session.State, hadCookie: Bool) throws -> CommitPlan {
        let replacedID = s.storedID.flatMap { $0 != s.id ? $0 : nil }
        // The key the session was read under, when this interface loaded it.
        let storedKey = s.storedID == nil ? nil : s.storedKey ?? key(for: s.storedID!)
        if s.data.isEmpty {
            guard s.isModified else { return .nothing }
            return .delete(key: storedKey, cookie: hadCookie ? cookie.deletion : nil)
        }
        if s.isModified, versioned != nil, !s.wholeWrite, !s.isNew, s.storedID == s.id {
            return .merge(s)
        }
        if s.isModified {
            let now = clock.now()
            let created = Self.plausibleCreation(s.createdAt, now: now) ? Int(s.createdAt) : Int(now)
            let value: [UInt8]
            // The reserved key is written by the library only.
            if s.mayHoldCreatedKey && s.data[Session.createdKey] != nil {
                var data = s.data
                data.removeValue(forKey: Session.createdKey)
                value = try JSON.encodeStoredSession(data, created: created)
            } else {
                value = try JSON.encodeStoredSession(s.data, created: created)
            }
            // A session read from the store is written back only while its entry lives; a
            // session invalidated during this request is a new one and owes nothing to the old.
            let loaded = storedKey != nil && !s.isInvalidated
            let savedKey = replacedID == nil ? storedKey ?? key(for: s.id) : key(for: s.id)
            var index: IndexUpdate?
            if s.bindingChanged || replacedID != nil, let user = s.data[Session.userKey]?.stringValue {
                let entry = UserSessionIndex.Entry(key: savedKey, created: created, device: s.data[Session.deviceKey]?.stringValue)
                if !s.bindingChanged, loaded, let storedKey {
                    // A bound session regenerated: it moves in the index only if it is still
                    // there (a revocation of its user empties the index first).
                    index = IndexUpdate(user: user, change: .swap(from: storedKey, to: entry))
                } else {
                    index = IndexUpdate(user: user, change: .add(entry, removing: replacedID != nil && loaded ? storedKey : nil))
                }
            }
            return .save(
                Save(
                    key: savedKey, value: value,
                    conditional: conditional != nil && replacedID == nil && loaded,
                    onlyIfLive: replacedID == nil && loaded, requiresLive: replacedID != nil && loaded ? storedKey : nil,
                    loadedVersion: s.loadedVersion,
                    slot: replacedID == nil ? s.storeSlot : -1, replacedKey: replacedID == nil ? nil : storedKey,
                    index: index, cookie: cookie.render(value: s.id, now: now), now: now))
        }
        if configuration.rolling && s.isAccessed && !s.isNew && !configuration.sessionCookie {
            return .cookie(cookie.render(value: s.id, now: clock.now()))
        }
        return .nothing
    }

    /// What a commit did: the `Set-Cookie` value to send, if any, and whether the session had
    /// ended meanwhile, so that nothing was written.
    struct Committed {
        var cookie: String?
        var discarded = false

        init(_ cookie: String?) { self.cookie = cookie }
        init(discarded cookie: String) {
            self.cookie = cookie
            self.discarded = true
        }
    }

    /// Saves, deletes or refreshes `session` and says which `Set-Cookie` value to send, if any.
    nonisolated(nonsending) func commit(_ session: Session, cookieValues: [String]) async throws -> Committed {
        if let memory = synchronousMemory { return try commitNow(session, hadCookie: !cookieValues.isEmpty, memory: memory) }
        switch try session.state.withLock({ try plan($0, hadCookie: !cookieValues.isEmpty) }) {
        case .nothing:
            return Committed(nil)
        case .delete(let key, let cookie):
            if let key { try await store.delete(key: key) }
            return Committed(cookie)
        case .merge(let state):
            return try await merge(state, of: session, into: versioned!)
        case .save(let save):
            if let required = save.requiresLive {
                // Regenerated: only while the old entry lives (the linearisation point of the
                // ID change); a refreshed TTL on an entry about to be deleted is harmless.
                guard try await store.touch(key: required, ttl: storeTTL) else { return discard(session) }
            }
            // Save under the new ID before deleting the old entry: if the save fails, the user
            // keeps the session they had.
            if save.conditional, let conditional {
                guard try await replace(key: save.key, value: save.value, loadedVersion: save.loadedVersion, in: conditional) else {
                    return discard(session)
                }
            } else if let memory {
                guard try write(save, to: memory) else { return discard(session) }
            } else if save.onlyIfLive {
                guard try await store.replace(key: save.key, value: save.value, ttl: storeTTL) else { return discard(session) }
            } else {
                try await store.save(key: save.key, value: save.value, ttl: storeTTL)
            }
            if let update = save.index {
                let (user, change) = (update.user, update.change)
                let outcome: UserSessionIndex.Outcome
                do {
                    outcome = try await users.update(user: user, change)
                } catch {
                    // Not indexed, it could not be revoked: it is not kept either.
                    try? await store.delete(key: save.key)
                    throw error
                }
                guard outcome.applied else {
                    // Its user's sessions were revoked while this request held it.
                    try await store.delete(key: save.key)
                    if let replacedKey = save.replacedKey { try await store.delete(key: replacedKey) }
                    return discard(session)
                }
                for entry in outcome.evicted { try await store.delete(key: entry.key) }
            }
            if let replacedKey = save.replacedKey { try await store.delete(key: replacedKey) }
            return Committed(save.cookie)
        case .cookie(let cookie):
            return Committed(cookie)
        }
    }

    /// ``commit(_:cookieValues:)`` over the in-memory store in whole-session mode, without
    /// suspension points.
    func commitNow(_ session: Session, hadCookie: Bool, memory: InMemorySessionStore) throws -> Committed {
        switch try session.state.withLock({ try plan($0, hadCookie: hadCookie) }) {
        case .nothing:
            return Committed(nil)
        case .delete(let key, let cookie):
            if let key { memory.deleteNow(key: key) }
            return Committed(cookie)
        case .merge:
            preconditionFailure("changed-keys saves never take the in-memory store's synchronous path")
        case .save(let save):
            guard try write(save, to: memory) else { return discard(session) }
            if let update = save.index {
                let (user, change) = (update.user, update.change)
                let outcome = users.updateNow(user: user, change, memory: memory)
                guard outcome.applied else {
                    // Its user's sessions were revoked while this request held it.
                    memory.deleteNow(key: save.key)
                    if let replacedKey = save.replacedKey { memory.deleteNow(key: replacedKey) }
                    return discard(session)
                }
                for entry in outcome.evicted { memory.deleteNow(key: entry.key) }
            }
            if let replacedKey = save.replacedKey { memory.deleteNow(key: replacedKey) }
            return Committed(save.cookie)
        case .cookie(let cookie):
            return Committed(cookie)
        }
    }

    /// The in-memory store's time at this interface's time `now`: the same reading when both
    /// use the system clock.
    private func time(_ now: Double, of memory: InMemorySessionStore) -> Double {
        sharesClockWithMemory ? now : memory.clock.now()
    }

    /// Writes a planned save to the in-memory store.
    ///
    /// - Returns: `false`, writing nothing, when the session had ended meanwhile.
    private func write(_ save: Save, to memory: InMemorySessionStore) throws(SessionError) -> Bool {
        let now = time(save.now, of: memory)
        if let required = save.requiresLive {
            var slot: Int32 = -1
            guard memory.loadNow(key: required, touchTTL: nil, slot: &slot, now: now) != nil else { return false }
        }
        if save.onlyIfLive {
            return try memory.replaceNow(key: save.key, value: save.value, ttl: storeTTL, slot: save.slot, now: now)
        }
        try memory.saveNow(key: save.key, value: save.value, ttl: storeTTL, slot: save.slot, now: now)
        return true
    }

    /// What a commit of a session that ended while this request held it does: nothing is
    /// written, the session records it, and the cookie is expired.
    private func discard(_ session: Session) -> Committed {
        session.state.withLock { $0.changesDiscarded = true }
        return Committed(discarded: cookie.deletion)
    }

    /// Saves a loaded session whole with a write conditional on the version it was loaded at,
    /// so that if the store's client gives up on it (a timeout) and the server executes it
    /// later, it finds another version and changes nothing instead of overwriting a newer
    /// acknowledged save.
    ///
    /// When the condition fails, another request saved the session since it was loaded, or
    /// the session ended: this save then follows with a write that only replaces a live
    /// entry, so the later save still wins, as whole-session saves promise, and an ended
    /// session stays ended, at the cost of one round trip and without retry loops under
    /// contention. (That follow-up write is the one write not protected against arriving
    /// late; arriving late, it still cannot bring an ended session back.)
    ///
    /// - Returns: `false`, writing nothing, when the session has no live entry any more.
    nonisolated(nonsending) private func replace(
        key: String, value: [UInt8], loadedVersion: SessionStoreVersion?, in store: any VersionedSessionStore
    ) async throws -> Bool {
        var version = loadedVersion
        if version == nil {
            guard let current = try await store.loadVersioned(key: key) else { return false }
            version = current.version
        }
        if let version, try await store.save(key: key, value: value, ttl: storeTTL, ifVersion: version) { return true }
        // Changed or gone since it was read (another request's save, expiry, eviction, a
        // logout elsewhere): replaced if it lives, as a whole-session save of it would.
        return try await store.replace(key: key, value: value, ttl: storeTTL)
    }

    /// Applies the request's changes to the stored session with conditional saves, so that a
    /// concurrent request's changes to other keys are kept.
    nonisolated(nonsending) private func merge(
        _ s: Session.State, of session: Session, into store: any VersionedSessionStore
    ) async throws -> Committed {
        let key = key(for: s.id)
        // The bytes read when the session was opened serve for the first attempt when the
        // store can version them; a conflict then costs one more read.
        var known = s.loadedBytes.flatMap { bytes in (s.loadedVersion ?? store.version(ofLoaded: bytes)).map { (bytes, $0) } }
        for _ in 0..<Self.maximumMergeAttempts {
            let current: ([UInt8], SessionStoreVersion)?
            if let first = known {
                current = first
                known = nil
            } else {
                current = try await store.loadVersioned(key: key)
            }
            guard let (bytes, version) = current else {
                // Deleted meanwhile (a logout in another request): never bring it back.
                return discard(session)
            }
            let decoded = (try? JSON.decodeStoredSession(bytes)) ?? nil
            var data = decoded?.data ?? [:]
            let stored = decoded?.created?.doubleValue
            for (name, change) in s.changes where name != Session.createdKey {
                switch change {
                case .set(let value): data[name] = value
                case .removed: data.removeValue(forKey: name)
                }
            }
            if data.isEmpty {
                try await store.delete(key: key)
                return Committed(cookie.deletion)
            }
            let created = stored.flatMap { Self.plausibleCreation($0, now: clock.now()) ? Int($0) : nil } ?? Int(s.createdAt)
            let value = try JSON.encodeStoredSession(data, created: created)
            if try await store.save(key: key, value: value, ttl: storeTTL, ifVersion: version) {
                return Committed(cookie.render(value: s.id, now: clock.now()))
            }
        }
        throw SessionError(
            .storeFailure,
            "the session changed \(Self.maximumMergeAttempts) times while this request merged its changes; the changes were not saved, retry the request")
    }
}
