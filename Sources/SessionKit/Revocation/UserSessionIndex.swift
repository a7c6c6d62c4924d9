import SessionKitCrypto

/// The sessions bound to one user (``Session/bindUser(_:device:)``), kept by a store-backed
/// interface in its own store: key `prefix + "user:" + base64url(SHA-256(userID))`, value a
/// JSON array of `{"k": store key, "c": created, "d": device}`.
///
/// Changes are atomic: under a shard lock (in-memory), or read, changed and written back
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
    let prefix: String
    /// The index's time to live: that of the sessions (refreshed by every change).
    let ttl: Int?

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
        /// The entries before the change: those of every attempt, so that an attempt whose
        /// write was executed but whose answer was lost (the client then tries again, and
        /// the next attempt reads its own write) still counts what it removed.
        var before: [Entry]
        /// False when the change refused (``Change/swap`` of a key no longer indexed).
        var applied: Bool
        /// Entries dropped to keep ``maximumEntries``: their sessions are to be ended.
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
        if let memory = store as? InMemorySessionStore { return updateNow(key: key, change, memory: memory) }
        var seen: [Entry] = []
        // Entries an attempt would have evicted: if its write was executed but reported lost,
        // they are gone from the index, and their sessions must still end.
        var evictedSeen: [Entry] = []
        func evicted(_ entries: [Entry]) -> [Entry] {
            for entry in entries where !evictedSeen.contains(where: { $0.key == entry.key }) { evictedSeen.append(entry) }
            return evictedSeen
        }
        func remember(_ entries: [Entry]) -> [Entry] {
            for entry in entries where !seen.contains(where: { $0.key == entry.key }) { seen.append(entry) }
            return seen
        }
        for _ in 0..<Self.maximumAttempts {
            if let versioned = store as? any VersionedSessionStore {
                if let (bytes, version) = try await versioned.loadVersioned(key: key) {
                    let before = Self.decode(bytes)
                    let (after, applied, evictedNow) = Self.apply(change, to: before)
                    guard applied else { return Outcome(before: remember(before), applied: false, evicted: evictedSeen) }
                    // Sessions that leave the index for room end first: should this fail half-way,
                    // the index still lists them for a revocation.
                    for entry in evictedNow { try await store.delete(key: entry.key) }
                    if try await versioned.save(key: key, value: Self.encode(after), ttl: ttl, ifVersion: version) {
                        return Outcome(before: remember(before), applied: true, evicted: evicted(evictedNow))
                    }
                    _ = remember(before)
                    _ = evicted(evictedNow)
                    continue
                }
            } else if let bytes = try await store.load(key: key) {
                // A store that cannot save conditionally: read, change, write (not atomic).
                let before = Self.decode(bytes)
                let (after, applied, evicted) = Self.apply(change, to: before)
                if applied { try await store.save(key: key, value: Self.encode(after), ttl: ttl) }
                return Outcome(before: before, applied: applied, evicted: evicted)
            }
            let (after, applied, evictedNow) = Self.apply(change, to: [])
            guard applied, !after.isEmpty else { return Outcome(before: seen, applied: applied, evicted: evicted(evictedNow)) }
            if try await store.create(key: key, value: Self.encode(after), ttl: ttl) {
                return Outcome(before: seen, applied: true, evicted: evicted(evictedNow))
            }
        }
        throw SessionError(
            .storeFailure,
            "a user's session index changed \(Self.maximumAttempts) times while this request updated it; the change was not made, retry the request")
    }

    /// ``update(user:_:)`` on the in-memory store, in one step under its shard's lock.
    func updateNow(key: String, _ change: Change, memory: InMemorySessionStore) -> Outcome {
        memory.updateNow(key: key, ttl: ttl) { bytes -> Outcome in
            let before = Self.decode(bytes)
            let (after, applied, evicted) = Self.apply(change, to: before)
            if applied { bytes = after.isEmpty ? nil : Self.encode(after) }
            return Outcome(before: before, applied: applied, evicted: evicted)
        }
    }

    /// ``update(user:_:)`` on the in-memory store by user.
    func updateNow(user: String, _ change: Change, memory: InMemorySessionStore) -> Outcome {
        updateNow(key: key(ofUser: user), change, memory: memory)
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
