/// A store that can save conditionally: only if the entry has not changed since it was read.
///
/// The changed-keys save mode (``SessionConfiguration/SaveMode/changedKeys``) uses it to merge
/// a request's changes into the stored session without losing the changes of a concurrent
/// request: read the entry and its version, apply the changes, save if the version still
/// matches, and start over if it does not.
///
/// Contract, checked by the lost-update tests:
/// - ``loadVersioned(key:)`` returns the live value and a version that identifies it, or `nil`.
/// - ``save(key:value:ttl:ifVersion:)`` replaces the value only if the entry still exists at
///   that version, atomically with respect to every other writer (other tasks and, for shared
///   stores, other processes), and returns whether it did.
public protocol VersionedSessionStore: SessionStore {
    /// Returns the stored value and its version, or `nil` when there is no live entry.
    nonisolated(nonsending) func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)?

    /// Saves `value` only if the entry under `key` is still at `version`.
    ///
    /// - Returns: `false`, writing nothing, when the entry changed or disappeared since it was read.
    nonisolated(nonsending) func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool

    /// The version of bytes just returned by ``SessionStore/load(key:)`` or
    /// ``SessionStore/loadAndTouch(key:ttl:)``, when the store can tell it from the bytes alone
    /// (stores that compare contents); `nil` otherwise. It lets a changed-keys save skip one read.
    func version(ofLoaded value: [UInt8]) -> SessionStoreVersion?

    /// Loads an entry as ``SessionStore/load(key:)`` does, or as
    /// ``SessionStore/loadAndTouch(key:ttl:)`` does when `touchTTL` is given, together with its
    /// version when the store learns it in the same step (memcached's `gets`/`gats`), so that
    /// a conditional save needs no second read.
    ///
    /// - Parameters:
    ///   - key: the entry's key.
    ///   - touchTTL: when given, the entry's TTL is refreshed to it, as `loadAndTouch` does.
    /// - Returns: the value, and its version or `nil` when the store cannot give it without
    ///   another read; `nil` when there is no live entry.
    nonisolated(nonsending) func loadForUpdate(key: String, touchTTL: Int?) async throws -> (value: [UInt8], version: SessionStoreVersion?)?

    /// Whether a session interface saves a whole session it loaded from this store
    /// conditionally, against the version it loaded, instead of with a plain
    /// ``SessionStore/save(key:value:ttl:)``.
    ///
    /// A network store whose client gives up on a command after a timeout and reconnects may
    /// see the abandoned write executed by the server later, after a newer save that was
    /// acknowledged: a plain write would then overwrite the newer value. A conditional write
    /// that arrives late finds the entry at another version and changes nothing. The Redis and
    /// memcached stores return `true`; stores whose writes cannot outlive the call return
    /// `false` (the default).
    var savesWholeSessionsConditionally: Bool { get }
}

extension VersionedSessionStore {
    public func version(ofLoaded value: [UInt8]) -> SessionStoreVersion? { nil }

    /// Loads with ``SessionStore/load(key:)`` or ``SessionStore/loadAndTouch(key:ttl:)`` and
    /// takes the version from ``version(ofLoaded:)``.
    ///
    /// - Parameters:
    ///   - key: the entry's key.
    ///   - touchTTL: when given, the entry's TTL is refreshed to it.
    /// - Returns: the value and its version, if the store can tell it from the bytes; `nil`
    ///   when there is no live entry.
    public nonisolated(nonsending) func loadForUpdate(key: String, touchTTL: Int?) async throws -> (value: [UInt8], version: SessionStoreVersion?)? {
        let bytes: [UInt8]?
        if let touchTTL {
            bytes = try await loadAndTouch(key: key, ttl: touchTTL)
        } else {
            bytes = try await load(key: key)
        }
        guard let bytes else { return nil }
        return (bytes, version(ofLoaded: bytes))
    }

    public var savesWholeSessionsConditionally: Bool { false }
}

/// Identifies one value of a stored entry, as a ``VersionedSessionStore`` defines it: a counter,
/// a server's CAS token, or the stored bytes themselves.
public struct SessionStoreVersion: Sendable, Hashable {
    /// A numeric version or CAS token.
    public let token: UInt64
    /// The stored bytes, for stores that compare values instead of counting versions.
    public let contents: [UInt8]?

    /// A version given by a counter or a server's CAS token.
    public init(token: UInt64) {
        self.token = token
        self.contents = nil
    }

    /// A version given by the stored bytes themselves.
    public init(contents: [UInt8]) {
        self.token = 0
        self.contents = contents
    }
}
