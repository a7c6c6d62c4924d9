import SessionKitCrypto

/// The sessions bound to one user (``Session/bindUser(_:device:)``), kept by a store-backed
/// interface in its own store: key `prefix + "user:" + base64url(SHA-256(userID))`, value a
/// JSON array of `{"k": store key, "c": created, "d": device}`.
///
/// Changes are atomic: in one step of a store that completes its operations without
/// suspending (the in-memory store's shard lock), or read, changed and written back
/// conditionally (``VersionedSessionStore``), a missing index created only if still missing
/// (``SessionStore/create(key:value:ttl:)``).
struct UserSessionIndex: Sendable {
    /// The most sessions one user keeps; a login beyond it ends the oldest.
    static let maximumEntries = 256
    /// How many times a change is tried again when another writer changed the index meanwhile.
    static let maximumAttempts = 32

    struct Entry: Sendable, Hashable {
        var key: String
        var created: Int
        var device: String?
    }

    let store: any SessionStore
    /// The store, when it completes its operations without suspending.
    let immediate: (any ImmediateSessionStore)?
    let prefix: String
    /// The index's time to live: that of the sessions (refreshed by every change).
    let ttl: Int?

    init(store: any SessionStore, prefix: String, ttl: Int?) {
        self.store = store
        self.immediate = store as? any ImmediateSessionStore
        self.prefix = prefix
        self.ttl = ttl
    }

    func key(ofUser user: String) -> String {
        prefix + "user:" + Base64URL.encode(SHA256.hash(data: user.utf8))
    }

    static func decode(_ bytes: [UInt8]?) -> [Entry] {
        guard let bytes, let array = (try? JSON.decode(bytes))?.arrayValue else { return [] }
        return array.compactMap { value in
            guard let object = value.objectValue, let key = object["k"]?.stringValue else { return nil }
            return Entry(key: key, created: object["c"]?.intValue ?? 0, device: object["d"]?.stringValue)
        }
    }

    static func encode(_ entries: [Entry]) -> [UInt8] {
        let array = SessionValue.array(
            entries.map { entry in
                var object: [String: SessionValue] = ["k": .string(entry.key), "c": .int(entry.created)]
                if let device = entry.device { object["d"] = .string(device) }
                return .object(object)
            })
        // Strings and integers always encode.
        return (try? JSON.encode(array)) ?? Array("[]".utf8)
    }

    /// What a change of the index decided.
    struct Outcome {
        /// False when the change refused (``Change/swap`` of a key no longer indexed).
        var applied: Bool
        /// Entries dropped to keep ``maximumEntries``: their sessions are to be ended. They
        /// include those of every attempt, so that an attempt whose write was executed but
        /// whose answer was lost (the client then tries again, and the next attempt reads its
        /// own write) still ends what it removed.
        var evicted: [Entry]
    }

    enum Change {
        /// Adds (or renews) an entry, and removes `removing` if indexed.
        case add(Entry, removing: String?)
        /// Replaces the entry of `from` by `to`, only if `from` is indexed.
        case swap(from: String, to: Entry)
        /// Removes every entry except those whose keys are in `keeping`.
        case removeAll(keeping: Set<String>)
        /// Removes the given keys.
        case remove(Set<String>)
    }

    static func apply(_ change: Change, to entries: [Entry]) -> (after: [Entry], applied: Bool, evicted: [Entry]) {
        var after = entries
        switch change {
        case .add(let entry, let removing):
            after.removeAll { $0.key == entry.key || $0.key == removing }
            after.append(entry)
        case .swap(let from, let to):
            guard let i = after.firstIndex(where: { $0.key == from }) else {
                // Already moved, by an attempt of ours whose answer was lost.
                return (entries, after.contains { $0.key == to.key }, [])
            }
            after.remove(at: i)
            after.removeAll { $0.key == to.key }
            after.append(to)
        case .removeAll(let keeping):
            after.removeAll { !keeping.contains($0.key) }
        case .remove(let keys):
            after.removeAll { keys.contains($0.key) }
        }
        var evicted: [Entry] = []
        if after.count > maximumEntries {
            evicted = Array(after.prefix(after.count - maximumEntries))
            after.removeFirst(after.count - maximumEntries)
        }
        return (after, true, evicted)
    }

    /// Applies `change` to `user`'s index atomically.
    nonisolated(nonsending) func update(user: String, _ change: Change) async throws -> Outcome {
        let key = key(ofUser: user)
        if let immediate { return updateNow(key: key, change, store: immediate) }
        var evictedSeen: [Entry] = []
        return try await store.updateEntry(
            key: key, ttl: ttl, attempts: Self.maximumAttempts,
            exhausted: SessionError(
                .storeFailure,
                "a user's session index changed \(Self.maximumAttempts) times while this request updated it; the change was not made, retry the request")
        ) { bytes in
            let (after, applied, evictedNow) = Self.apply(change, to: Self.decode(bytes))
            for entry in evictedNow where !evictedSeen.contains(where: { $0.key == entry.key }) { evictedSeen.append(entry) }
            let outcome = Outcome(applied: applied, evicted: evictedSeen)
            // A missing index is not created empty.
            guard applied, bytes != nil || !after.isEmpty else { return .keep(outcome) }
            // Sessions that leave the index for room end first: should this fail half-way, the
            // index still lists them for a revocation.
            for entry in evictedNow { try await store.delete(key: entry.key) }
            return .write(Self.encode(after), outcome)
        }
    }

    /// ``update(user:_:)`` on a store that completes its operations without suspending, in
    /// one step of that store.
    func updateNow(key: String, _ change: Change, store: any ImmediateSessionStore) -> Outcome {
        store.updateNow(key: key, ttl: ttl) { bytes -> Outcome in
            let (after, applied, evicted) = Self.apply(change, to: Self.decode(bytes))
            if applied { bytes = after.isEmpty ? nil : Self.encode(after) }
            return Outcome(applied: applied, evicted: evicted)
        }
    }

    /// ``updateNow(key:_:store:)`` by user.
    func updateNow(user: String, _ change: Change, store: any ImmediateSessionStore) -> Outcome {
        updateNow(key: key(ofUser: user), change, store: store)
    }

    /// The user's index as stored.
    nonisolated(nonsending) func entries(ofUser user: String) async throws -> [Entry] {
        Self.decode(try await store.load(key: key(ofUser: user)))
    }

    /// A handle for a session that reveals nothing of its ID or key.
    static func handle(ofKey key: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: key.utf8).prefix(16)))
    }
}
