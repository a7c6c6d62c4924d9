import Foundation
import SessionKit

/// A minimal cookie jar that behaves like a browser towards one site: it sends the cookies it
/// holds and applies every `Set-Cookie` it receives (Max-Age=0 deletes).
public final class TestBrowser: @unchecked Sendable {
    private let lock = NSLock()
    private var jar: [String: String] = [:]

    public init() {}

    /// The cookies held, by name.
    public var cookies: [String: String] {
        lock.withLock { jar }
    }

    /// The `Cookie` header values to send (none when the jar is empty).
    public var cookieHeaders: [String] {
        lock.withLock {
            jar.isEmpty ? [] : [jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        }
    }

    /// Sets a cookie by hand, as an attacker or another service could.
    public func set(_ name: String, _ value: String) {
        lock.withLock { jar[name] = value }
    }

    /// Applies the `Set-Cookie` values of a response.
    public func receive(_ setCookies: [String]) {
        lock.withLock {
            for header in setCookies {
                let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let pair = parts.first, let eq = pair.firstIndex(of: "=") else { continue }
                let name = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
                let deleted = parts.contains { $0.lowercased() == "max-age=0" }
                if deleted { jar.removeValue(forKey: name) } else { jar[name] = value }
            }
        }
    }

    /// Runs one request through `middleware` with this browser's cookies and applies the
    /// cookies of the response.
    nonisolated(nonsending) public func request<Value>(
        _ middleware: SessionMiddleware,
        _ handler: (SessionContext) async throws -> Value
    ) async throws -> SessionResult<Value> {
        let result = try await middleware.handle(cookieHeaders: cookieHeaders, handler)
        receive(result.setCookies)
        return result
    }
}

/// A store wrapper that counts calls and can be told to fail, in front of a real store; for
/// showing what the middleware does when the backing store is down.
public final class InstrumentedStore<Base: SessionStore>: SessionStore, @unchecked Sendable {
    public let base: Base
    private let lock = NSLock()
    private var _calls: [String] = []
    private var _failing = false

    public init(_ base: Base) { self.base = base }

    /// Every call made, as "load key", "save key", ...
    public var calls: [String] { lock.withLock { _calls } }
    /// When true, every call throws `storeUnavailable` without reaching the base store.
    public var failing: Bool {
        get { lock.withLock { _failing } }
        set { lock.withLock { _failing = newValue } }
    }
    public func resetCalls() { lock.withLock { _calls.removeAll() } }

    private func record(_ call: String) throws {
        let fail = lock.withLock { () -> Bool in
            _calls.append(call)
            return _failing
        }
        if fail { throw SessionError(.storeUnavailable, "the store is down (injected failure)") }
    }

    public func load(key: String) async throws -> [UInt8]? {
        try record("load \(key)")
        return try await base.load(key: key)
    }
    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try record("loadAndTouch \(key) \(ttl)")
        return try await base.loadAndTouch(key: key, ttl: ttl)
    }
    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        try record("save \(key) \(ttl.map(String.init) ?? "nil")")
        try await base.save(key: key, value: value, ttl: ttl)
    }
    public func delete(key: String) async throws {
        try record("delete \(key)")
        try await base.delete(key: key)
    }
    public func touch(key: String, ttl: Int?) async throws -> Bool {
        try record("touch \(key) \(ttl.map(String.init) ?? "nil")")
        return try await base.touch(key: key, ttl: ttl)
    }
    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try record("replace \(key) \(ttl.map(String.init) ?? "nil")")
        return try await base.replace(key: key, value: value, ttl: ttl)
    }
}
