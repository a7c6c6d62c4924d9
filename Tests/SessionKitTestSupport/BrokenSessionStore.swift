import SessionKit
import Synchronization

/// How a ``BrokenSessionStore`` breaks its promises (one type whatever the store it wraps, so
/// that one test can take it as an argument for every store).
public enum SessionStoreFlaw: String, Sendable, CaseIterable {
    /// Every 25th save reports success without saving.
    case dropsSaves
    /// Every 25th load returns the session saved last, whoever it belongs to.
    case crossesSessions
}

/// A store that breaks its promises on purpose, over a real one, to show that a check (the
/// chaos soak's) catches such a store.
public final class BrokenSessionStore<Base: SessionStore>: SessionStore {
    public typealias Flaw = SessionStoreFlaw

    public let base: Base
    public let flaw: Flaw
    private let calls = Atomic<Int>(0)
    private let lastSaved = Mutex<String?>(nil)

    public init(_ base: Base, flaw: Flaw) {
        self.base = base
        self.flaw = flaw
    }

    public func load(key: String) async throws -> [UInt8]? {
        if flaw == .crossesSessions, calls.add(1, ordering: .relaxed).newValue % 25 == 0,
            let other = lastSaved.withLock({ $0 }), other != key {
            return try await base.load(key: other)
        }
        return try await base.load(key: key)
    }

    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try await load(key: key)
    }

    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        if flaw == .dropsSaves, calls.add(1, ordering: .relaxed).newValue % 25 == 0 { return }
        try await base.save(key: key, value: value, ttl: ttl)
        lastSaved.withLock { $0 = key }
    }

    public func delete(key: String) async throws { try await base.delete(key: key) }

    public func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
}
