/// Opens a request's session from its cookie and, after the handler, saves it and says which
/// cookies to send.
///
/// ``SessionMiddleware`` drives interfaces; applications configure them. SessionKit ships a
/// store-backed interface (``StoreSessionInterface``, with conveniences such as
/// ``InMemorySessionInterface``); implement this protocol for other designs.
///
/// Contract:
/// - ``open(cookieValues:)`` never adopts data it cannot trust: malformed or unknown cookie
///   values give a new, empty session. It throws only when the backing store fails, and then
///   nothing may be written for this session.
/// - ``commit(_:cookieValues:)`` persists what the request changed and returns the
///   `Set-Cookie` header values to send (none when nothing needs to change on the client).
///   A failure throws and leaves the previously stored session intact.
public protocol SessionInterface: Sendable {
    /// The cookie and lifetime options.
    var configuration: SessionConfiguration { get }

    /// The store and key prefix this interface writes to, or `nil` when it keeps nothing on
    /// the server; the middleware refuses two interfaces with overlapping namespaces.
    var storageNamespace: SessionStorageNamespace? { get }

    /// Opens the session named by the request's cookies.
    ///
    /// - Parameter cookieValues: the values of every cookie named
    ///   ``SessionConfiguration/cookieName``, in the order the request sent them.
    nonisolated(nonsending) func open(cookieValues: [String]) async throws -> Session

    /// Saves, deletes or refreshes `session` after the handler ran, and returns the
    /// `Set-Cookie` header values to add to the response.
    ///
    /// - Parameters:
    ///   - session: the session that ``open(cookieValues:)`` returned for this request.
    ///   - cookieValues: the same values that were given to ``open(cookieValues:)``.
    nonisolated(nonsending) func commit(_ session: Session, cookieValues: [String]) async throws -> [String]

    /// True when the session should be committed even if the handler throws (pyramid's
    /// `set_on_exception`); the middleware then throws a ``SessionHandlerError`` carrying
    /// the headers. Default `false`.
    var commitsWhenHandlerThrows: Bool { get }
}

extension SessionInterface {
    public var commitsWhenHandlerThrows: Bool { false }
}

/// Where an interface keeps sessions on the server: a store instance and a key prefix.
public struct SessionStorageNamespace: Sendable, Hashable {
    /// The identity of the store object.
    public var store: ObjectIdentifier
    /// The prefix of every key the interface writes.
    public var prefix: String

    /// Creates a namespace for `store` and `prefix`.
    public init(store: some SessionStore, prefix: String) {
        self.store = ObjectIdentifier(store)
        self.prefix = prefix
    }

    /// True when keys of the two namespaces could collide: same store, and one prefix is a
    /// prefix of the other.
    public func overlaps(_ other: SessionStorageNamespace) -> Bool {
        store == other.store && (prefix.hasPrefix(other.prefix) || other.prefix.hasPrefix(prefix))
    }
}
