import Synchronization

/// One user's session: JSON-like values by string key, with change tracking.
///
/// A `Session` is a reference type that is safe to use from several tasks at once. Handlers
/// get it from ``SessionContext/session(_:)``; after the handler returns, the middleware asks
/// the session's interface to save, delete or refresh it according to what happened:
///
/// - ``isModified``: a value was set or removed (the session is saved; an emptied one is deleted).
/// - ``isAccessed``: a value was read (a rolling session is refreshed; nothing is written).
/// - ``isNew``: the session has no stored entry yet.
///
/// ```swift
/// let session = try await context.session()
/// let visits = (session["visits"]?.intValue ?? 0) + 1
/// session["visits"] = .int(visits)
/// ```
///
/// Reserved keys: ``createdKey`` holds the creation time in stored sessions (it is not part
/// of ``data``), ``csrfKey`` the CSRF token and `_f_<queue>` the flash queues, as pyramid does.
public final class Session: Sendable {
    /// The key under which server-side stores keep the session's creation time (Unix seconds).
    ///
    /// It is written next to the data in the stored JSON object, read back on load and never
    /// shown in ``data``; the absolute lifetime is counted from it.
    public static let createdKey = "_sk_created"
    /// The key of the CSRF token, as pyramid names it.
    public static let csrfKey = "_csrft_"
    /// The prefix of flash queue keys, as pyramid names them: `_f_` + queue name.
    public static let flashPrefix = "_f_"

    struct State {
        var id: String
        var storedID: String?
        var data: [String: SessionValue]
        var isNew: Bool
        var isModified = false
        var isAccessed = false
        var isInvalidated = false
        var createdAt: Double
        var accessedAt: Double
        /// When the session's cookie was last issued (cookie sessions: the `accessed` time
        /// carried in the cookie).
        var renewedAt: Double
        /// Set by an interface that must re-issue the cookie even if nothing changed (a cookie
        /// signed with an older secret).
        var needsReissue = false
        /// The keys set or removed during this request, for the changed-keys save mode.
        var changes: [String: Change] = [:]
        /// True when ``changes`` is kept: only a session that may be merged into its stored
        /// entry (changed-keys save mode) pays for it.
        var tracksChanges = false
        /// True when the session must be written whole (new ID, cleared, marked modified).
        var wholeWrite = false
        /// What the store-backed interface that loaded the session keeps about it (the store
        /// key, the bytes and version read); only that interface reads it.
        var ticket: StoreTicket?
        /// False when ``data`` is known not to hold ``Session/createdKey`` (a session loaded
        /// by an interface, which takes the key out, and not given it since), so that a save
        /// need not look for it.
        var mayHoldCreatedKey = true
        /// Set by an interface whose commit found that the session had ended meanwhile.
        var changesDiscarded = false
        /// Set by ``Session/bindUser(_:device:)``: the interface records the binding when it
        /// saves the session.
        var bindingChanged = false
        /// The user and cookie nonce of a bound session that ``Session/invalidate()`` ended,
        /// for a cookie interface with a revocation store to record.
        var endedBinding: (user: String, nonce: String?)?

        /// Sets or removes a value and records the change.
        mutating func assign(_ key: String, _ value: SessionValue?) {
            if let value {
                if key.utf8.count == 11 && key == Session.createdKey { mayHoldCreatedKey = true }
                data[key] = value
                if tracksChanges { changes[key] = .set(value) }
                isModified = true
            } else if data.removeValue(forKey: key) != nil {
                if tracksChanges { changes[key] = .removed }
                isModified = true
            }
        }
    }

    /// One key's change during a request.
    enum Change: Equatable {
        case set(SessionValue)
        case removed
    }

    let state: Mutex<State>
    let clock: SessionClock

    /// Creates a session; interfaces call this when they open a session.
    ///
    /// - Parameters:
    ///   - id: the session's ID (for cookie sessions, any stable text).
    ///   - data: the session's values.
    ///   - isNew: true when nothing is stored for this session yet.
    ///   - createdAt: creation time, seconds since the Unix epoch.
    ///   - accessedAt: time of this access, seconds since the Unix epoch.
    ///   - clock: the clock used for times set later (``invalidate()``).
    public init(
        id: String, data: [String: SessionValue] = [:], isNew: Bool, createdAt: Double, accessedAt: Double,
        clock: SessionClock = .system
    ) {
        self.state = Mutex(
            State(
                id: id, storedID: isNew ? nil : id, data: data, isNew: isNew, createdAt: createdAt, accessedAt: accessedAt,
                renewedAt: accessedAt))
        self.clock = clock
    }

    /// Creates a session loaded from a store: `ticket` says where, for the interface's commit;
    /// with `tracksChanges` the session records its changes for a merge into the stored entry.
    init(
        id: String, data: [String: SessionValue], createdAt: Double, accessedAt: Double, clock: SessionClock,
        ticket: StoreTicket, tracksChanges: Bool
    ) {
        var state = State(
            id: id, storedID: id, data: data, isNew: false, createdAt: createdAt, accessedAt: accessedAt, renewedAt: accessedAt)
        state.ticket = ticket
        state.mayHoldCreatedKey = false
        state.tracksChanges = tracksChanges
        self.state = Mutex(state)
        self.clock = clock
    }

    // MARK: Identity and state

    /// The session's current ID. It changes after ``regenerateID()`` and ``invalidate()``.
    public var id: String { state.withLock { $0.id } }

    /// The ID the session's data is stored under, or `nil` for a session never stored.
    ///
    /// Differs from ``id`` after ``regenerateID()`` or ``invalidate()``: the interface deletes
    /// the entry under this ID when it saves the session.
    public var storedID: String? { state.withLock { $0.storedID } }

    /// True when the session has no stored entry yet.
    public var isNew: Bool { state.withLock { $0.isNew } }

    /// True when a value was set or removed, or the ID changed, during this request.
    public var isModified: Bool { state.withLock { $0.isModified } }

    /// True when a value was read or written during this request.
    public var isAccessed: Bool { state.withLock { $0.isAccessed } }

    /// True when ``invalidate()`` was called during this request.
    public var isInvalidated: Bool { state.withLock { $0.isInvalidated } }

    /// True after a commit found that the session had ended while this request held it (a
    /// logout or revocation in another request, expiry, eviction): nothing of this request
    /// was saved, and the response expires the cookie.
    ///
    /// ``SessionResult/discardedSessions`` names such sessions for the code that sends the
    /// response.
    public var changesDiscarded: Bool { state.withLock { $0.changesDiscarded } }

    /// When the session was created, in seconds since the Unix epoch.
    public var createdAt: Double { state.withLock { $0.createdAt } }

    /// When the session was opened for this request, in seconds since the Unix epoch.
    public var accessedAt: Double { state.withLock { $0.accessedAt } }

    /// A copy of all values (reading it counts as an access).
    public var data: [String: SessionValue] {
        state.withLock {
            $0.isAccessed = true
            return $0.data
        }
    }

    /// The keys of all values (reading them counts as an access).
    public var keys: [String] {
        state.withLock {
            $0.isAccessed = true
            return Array($0.data.keys)
        }
    }

    /// True when the session holds no values.
    public var isEmpty: Bool {
        state.withLock {
            $0.isAccessed = true
            return $0.data.isEmpty
        }
    }

    // MARK: Values

    /// Reads or writes a value; assigning `nil` removes the key.
    public subscript(key: String) -> SessionValue? {
        get {
            state.withLock {
                $0.isAccessed = true
                return $0.data[key]
            }
        }
        set {
            state.withLock {
                $0.isAccessed = true
                $0.assign(key, newValue)
            }
        }
    }

    /// Removes the value for `key` and returns it.
    @discardableResult
    public func removeValue(forKey key: String) -> SessionValue? {
        state.withLock {
            $0.isAccessed = true
            let old = $0.data[key]
            $0.assign(key, nil)
            return old
        }
    }

    /// Removes every value. The interface deletes an emptied session and expires its cookie.
    public func removeAll() {
        state.withLock {
            $0.isAccessed = true
            for key in Array($0.data.keys) { $0.assign(key, nil) }
        }
    }

    /// Changes several values under one lock, for read-modify-write steps that must not
    /// interleave with another task's changes to the same session.
    ///
    /// ```swift
    /// session.update { $0["visits"] = .int(($0["visits"]?.intValue ?? 0) + 1) }
    /// ```
    public func update<R>(_ body: (inout [String: SessionValue]) throws -> R) rethrows -> R {
        try state.withLock { state in
            state.isAccessed = true
            let before = state.data
            let result = try body(&state.data)
            if state.data != before {
                state.isModified = true
                state.mayHoldCreatedKey = true
                if state.tracksChanges {
                    for (key, value) in state.data where before[key] != value { state.changes[key] = .set(value) }
                    for key in before.keys where state.data[key] == nil { state.changes[key] = .removed }
                }
            }
            return result
        }
    }

    /// Marks the session as modified so it is saved even though no value was assigned.
    public func markModified() {
        state.withLock {
            $0.isAccessed = true
            $0.isModified = true
            $0.wholeWrite = true
        }
    }

    // MARK: Typed values

    /// Reads a value decoded as `type`, or `nil` when the key is absent.
    ///
    /// - Throws: ``SessionError`` with code `decodingFailed` when the stored value does not
    ///   decode as `type`.
    public func get<T: Decodable>(_ type: T.Type, forKey key: String) throws -> T? {
        guard let value = self[key] else { return nil }
        return try SessionValueCoding.decode(type, from: value, key: key)
    }

    /// Stores `value` encoded as JSON-like data under `key`.
    ///
    /// - Throws: ``SessionError`` with code `encodingFailed` when `value` has no JSON form
    ///   (for example an infinite `Double`).
    public func set<T: Encodable>(_ value: T, forKey key: String) throws {
        self[key] = try SessionValueCoding.encode(value, key: key)
    }

    // MARK: Lifecycle

    /// Ends the session: removes every value, deletes the stored entry and expires the cookie.
    ///
    /// The session object stays usable as a new, empty session with a fresh ID: values set
    /// after `invalidate()` (a "you are logged out" flash, say) are saved under that new ID.
    ///
    /// - Throws: ``SessionError`` only if the OS refuses random bytes for the new ID.
    public func invalidate() throws {
        let newID = try SessionID.generate()
        let now = clock.now()
        state.withLock {
            if let user = $0.data[Session.userKey]?.stringValue, $0.endedBinding == nil {
                $0.endedBinding = (user, $0.data[Session.cookieNonceKey]?.stringValue)
            }
            $0.data.removeAll()
            $0.id = newID
            $0.isNew = true
            $0.isInvalidated = true
            $0.isModified = true
            $0.wholeWrite = true
            $0.isAccessed = true
            $0.createdAt = now
        }
    }

    /// Gives the session a new ID, keeping its values but a new CSRF token; the entry under
    /// the old ID is deleted when the session is saved.
    ///
    /// Call it whenever privileges change, above all at login: it defeats session fixation,
    /// where an attacker plants a known session ID in the victim's browser beforehand. The
    /// CSRF token (``csrfToken()``) is replaced too, when the session has one, so that whoever
    /// planted or read the session before the change does not know the token after it.
    ///
    /// - Throws: ``SessionError`` only if the OS refuses random bytes for the new ID.
    public func regenerateID() throws {
        let newID = try SessionID.generate()
        let newToken = try SessionID.generate()
        state.withLock {
            if $0.data[Session.csrfKey] != nil { $0.assign(Session.csrfKey, .string(newToken)) }
            $0.id = newID
            $0.isModified = true
            $0.isAccessed = true
            $0.wholeWrite = true
        }
    }
}

extension Session: CustomStringConvertible {
    /// A description that never shows the session's ID or values, so it is safe to log.
    public var description: String {
        state.withLock {
            "Session(keys: \($0.data.count), new: \($0.isNew), modified: \($0.isModified))"
        }
    }
}
