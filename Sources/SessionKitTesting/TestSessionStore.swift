import Foundation
import SessionKit
import Synchronization

/// A session store for tests whose contents can be looked at: which keys it holds, what each
/// stored session contains, and which calls the interface made.
///
/// It keeps the full contract of a store (expiry by its clock, atomic ``replace(key:value:ttl:)``
/// and ``create(key:value:ttl:)``, conditional saves for the changed-keys save mode), so a
/// handler behaves with it as with a real one.
///
/// ```swift
/// let store = TestSessionStore()
/// let client = TestSessionClient(try SessionMiddleware(StoreSessionInterface(store: store)))
/// try await client.request { try await $0.session()["user"] = "ada" }
/// let id = client.cookies["session"]!
/// #expect(store.data(forKey: "session:" + id)?["user"] == "ada")
/// ```
public final class TestSessionStore: VersionedSessionStore {
    private struct Entry {
        var value: [UInt8]
        var expires: Double?
        var version: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var writes: UInt64 = 0
        var operations: [String] = []
    }

    private let state = Mutex(State())
    private let clock: SessionClock

    /// Creates an empty store whose entries expire by `clock` (a ``TestClock``'s, say).
    public init(clock: SessionClock = .system) {
        self.clock = clock
    }

    // MARK: Looking inside

    /// The keys of the live entries, sorted.
    public var keys: [String] {
        let now = clock.now()
        return state.withLock { $0.entries.filter { $0.value.expires.map { $0 > now } ?? true }.keys.sorted() }
    }

    /// The stored bytes of a live entry.
    public func storedBytes(forKey key: String) -> [UInt8]? {
        let now = clock.now()
        return state.withLock { state in
            guard let entry = state.entries[key], entry.expires.map({ $0 > now }) ?? true else { return nil }
            return entry.value
        }
    }

    /// The values of the session stored under `key` (a JSON object, as interfaces store it),
    /// without the creation time that interfaces keep next to them; `nil` when there is no live
    /// entry or it is not a JSON object.
    public func data(forKey key: String) -> [String: SessionValue]? {
        guard let bytes = storedBytes(forKey: key),
            var object = try? JSONDecoder().decode([String: SessionValue].self, from: Data(bytes))
        else { return nil }
        object.removeValue(forKey: Session.createdKey)
        return object
    }

    /// Every call made so far, as `"load <key>"`, `"save <key> <ttl>"`, `"replace <key> <ttl>"`,
    /// `"delete <key>"`...
    public var operations: [String] { state.withLock { $0.operations } }

    /// Forgets the recorded operations.
    public func clearOperations() {
        state.withLock { $0.operations.removeAll() }
    }

    // MARK: SessionStore

    private func live(_ entry: Entry?, _ now: Double) -> Entry? {
        guard let entry, entry.expires.map({ $0 > now }) ?? true else { return nil }
        return entry
    }

    private func expiry(_ ttl: Int?, _ now: Double) -> Double? { ttl.map { now + Double($0) } }

    private static func describe(_ ttl: Int?) -> String { ttl.map(String.init) ?? "nil" }

    public func load(key: String) async throws -> [UInt8]? {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("load \(key)")
            return live(state.entries[key], now)?.value
        }
    }

    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        let now = clock.now()
        state.withLock { state in
            state.operations.append("save \(key) \(Self.describe(ttl))")
            state.writes += 1
            state.entries[key] = Entry(value: value, expires: expiry(ttl, now), version: state.writes)
        }
    }

    public func delete(key: String) async throws {
        state.withLock { state in
            state.operations.append("delete \(key)")
            state.entries.removeValue(forKey: key)
        }
    }

    public func touch(key: String, ttl: Int?) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("touch \(key) \(Self.describe(ttl))")
            guard var entry = live(state.entries[key], now) else { return false }
            entry.expires = expiry(ttl, now)
            state.entries[key] = entry
            return true
        }
    }

    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("replace \(key) \(Self.describe(ttl))")
            guard live(state.entries[key], now) != nil else { return false }
            state.writes += 1
            state.entries[key] = Entry(value: value, expires: expiry(ttl, now), version: state.writes)
            return true
        }
    }

    public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("create \(key) \(Self.describe(ttl))")
            guard live(state.entries[key], now) == nil else { return false }
            state.writes += 1
            state.entries[key] = Entry(value: value, expires: expiry(ttl, now), version: state.writes)
            return true
        }
    }

    // MARK: VersionedSessionStore

    public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("load \(key)")
            return live(state.entries[key], now).map { ($0.value, SessionStoreVersion(token: $0.version)) }
        }
    }

    public func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            state.operations.append("save \(key) \(Self.describe(ttl)) if unchanged")
            guard let entry = live(state.entries[key], now), entry.version == version.token else { return false }
            state.writes += 1
            state.entries[key] = Entry(value: value, expires: expiry(ttl, now), version: state.writes)
            return true
        }
    }
}
