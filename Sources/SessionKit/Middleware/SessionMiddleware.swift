/// Adds sessions to any request handler.
///
/// The middleware is framework-neutral: give it the request's `Cookie` header values and a
/// handler; it returns the handler's result and the response headers to add.
///
/// ```swift
/// let sessions = try SessionMiddleware(InMemorySessionInterface())
/// let result = try await sessions.handle(cookieHeaders: request.cookieHeaders) { context in
///     let session = try await context.session()
///     let visits = (session["visits"]?.intValue ?? 0) + 1
///     session["visits"] = .int(visits)
///     return "visit \(visits)"
/// }
/// // add result.headers (Set-Cookie, Vary, Cache-Control) to the response
/// ```
///
/// - Sessions load lazily: a handler that never calls ``SessionContext/session(_:)`` causes
///   no store I/O and no header.
/// - After the handler returns, each opened session is committed by its interface: saved
///   when modified, deleted when emptied or invalidated, refreshed when only read (rolling),
///   left alone otherwise.
/// - When the handler throws, nothing is saved and the error is rethrown.
/// - When a commit fails (store down, value too large), the error is thrown: the response
///   must not claim success for a write that did not happen.
public struct SessionMiddleware: Sendable {
    /// The configured interfaces, in order.
    public var interfaces: [any SessionInterface] { entries.map(\.interface) }
    /// Limits applied to `Cookie` headers.
    public let cookieLimits: CookieHeader.Limits

    /// An interface with the names looked up on every request, boxed once so that requests
    /// share it instead of copying the interface.
    final class Entry: Sendable {
        let interface: any SessionInterface
        let cookieName: String
        let sessionName: String
        /// The request path of a store-backed interface, called directly rather than through
        /// the existential (no copy of the interface, no witness thunk per request).
        let storeCore: StoreSessionCore?
        /// ``storeCore`` when its store completes its operations without suspending: sessions
        /// then open without an asynchronous call.
        let immediateCore: StoreSessionCore?

        init(_ interface: any SessionInterface) {
            self.interface = interface
            self.cookieName = interface.configuration.cookieName
            self.sessionName = interface.configuration.sessionName
            let core = (interface as? any StoreBackedSessionInterface)?.core
            self.storeCore = core
            self.immediateCore = core?.immediate != nil ? core : nil
        }

        @inline(__always)
        nonisolated(nonsending) func open(cookieValues: [String]) async throws -> Session {
            if let storeCore { return try await storeCore.open(cookieValues: cookieValues) }
            return try await interface.open(cookieValues: cookieValues)
        }

        /// Commits `session`: the `Set-Cookie` values to send, and whether the session had
        /// ended meanwhile, so that nothing was written.
        @inline(__always)
        nonisolated(nonsending) func commit(_ session: Session, cookieValues: [String]) async throws -> (cookies: [String], discarded: Bool) {
            if let storeCore {
                let committed = try await storeCore.commit(session, cookieValues: cookieValues)
                return (committed.cookie.map { [$0] } ?? [], committed.discarded)
            }
            let cookies = try await interface.commit(session, cookieValues: cookieValues)
            return (cookies, session.changesDiscarded)
        }
    }

    let entries: [Entry]

    /// The first interface's request path, held without reference counting, when it opens
    /// sessions without suspending.
    let firstCore: UnretainedCore?

    /// Creates a middleware serving one or more interfaces.
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` when no interface is given,
    ///   when an interface's configuration is invalid, or when two interfaces share a cookie
    ///   name, a session name, or overlapping key prefixes on the same store.
    public init(_ interfaces: [any SessionInterface], cookieLimits: CookieHeader.Limits = .default) throws {
        guard !interfaces.isEmpty else {
            throw SessionError(.invalidConfiguration, "SessionMiddleware needs at least one session interface")
        }
        for (i, a) in interfaces.enumerated() {
            try a.configuration.validate()
            for b in interfaces[..<i] {
                if a.configuration.cookieName == b.configuration.cookieName {
                    throw SessionError(
                        .invalidConfiguration,
                        "two session interfaces use the cookie name \"\(a.configuration.cookieName)\"; give each interface its own cookieName")
                }
                if a.configuration.sessionName == b.configuration.sessionName {
                    throw SessionError(
                        .invalidConfiguration,
                        "two session interfaces use the session name \"\(a.configuration.sessionName)\"; give each interface its own sessionName")
                }
                if let na = a.storageNamespace, let nb = b.storageNamespace, na.overlaps(nb) {
                    throw SessionError(
                        .invalidConfiguration,
                        "two session interfaces share one store with the prefixes \"\(na.prefix)\" and \"\(nb.prefix)\", so their keys could collide; give each interface a distinct prefix that does not start with the other")
                }
            }
        }
        let entries = interfaces.map(Entry.init)
        self.entries = entries
        self.cookieLimits = cookieLimits
        self.firstCore = entries[0].immediateCore.map { UnretainedCore($0, cookieName: entries[0].cookieName) }
    }

    /// Creates a middleware serving the given interfaces.
    public init(_ interfaces: any SessionInterface..., cookieLimits: CookieHeader.Limits = .default) throws {
        try self.init(interfaces, cookieLimits: cookieLimits)
    }

    /// Runs `handler` with lazy access to the request's sessions, then commits them.
    ///
    /// - Parameters:
    ///   - cookieHeaders: the values of every `Cookie` header of the request.
    ///   - handler: the request handler; it reaches sessions through the ``SessionContext``.
    /// - Returns: the handler's value and the headers to add to the response.
    /// - Throws: whatever the handler throws (nothing is saved then), or a ``SessionError``
    ///   when saving a session fails.
    // Inlinable, so that each caller gets a copy specialised for its handler's value type:
    // no generic metadata lookup per request, and the handler can be inlined into it.
    @inlinable
    nonisolated(nonsending) public func handle<Value>(
        cookieHeaders: [String],
        _ handler: nonisolated(nonsending) (SessionContext) async throws -> Value
    ) async throws -> SessionResult<Value> {
        let context = makeContext(cookieHeaders: cookieHeaders)
        let value: Value
        do {
            value = try await handler(context)
        } catch {
            throw await handlerFailed(error, context: context)
        }
        if let committed = try context.commitNow() {
            return SessionResult(value: value, headers: committed.headers, discardedSessions: committed.discarded)
        }
        let committed = try await context.commit()
        return SessionResult(value: value, headers: committed.headers, discardedSessions: committed.discarded)
    }

    /// The context of one request.
    @usableFromInline
    func makeContext(cookieHeaders: [String]) -> SessionContext {
        SessionContext(middleware: self, cookieHeaders: cookieHeaders)
    }

    /// What a handler's error becomes: a ``SessionHandlerError`` carrying the cookies of the
    /// interfaces that set them even on errors (pyramid's set_on_exception), or the error.
    @usableFromInline
    nonisolated(nonsending) func handlerFailed(_ error: any Error, context: SessionContext) async -> any Error {
        guard entries.contains(where: \.interface.commitsWhenHandlerThrows),
            let committed = try? await context.commit(onlyWhenHandlerThrew: true),
            committed.headers.contains(where: { $0.name == SessionHeader.setCookie })
        else { return error }
        return SessionHandlerError(error: error, headers: committed.headers)
    }
}

/// A handler's value and the response headers the middleware asks for.
public struct SessionResult<Value> {
    /// What the handler returned.
    public var value: Value
    /// Headers to add to the response: `Set-Cookie` (one per cookie), `Vary: Cookie` when a
    /// session was used, and `Cache-Control: private` when a cookie is set, so that shared
    /// caches neither store a response carrying a cookie nor serve one user's page to another.
    public var headers: [SessionHeader]
    /// The names (``SessionConfiguration/sessionName``) of the sessions that had ended while
    /// this request held them (a logout or revocation in another request, expiry, eviction):
    /// the handler's changes to them were not saved and their cookies are expired. Usually
    /// empty; an app may log it or tell the user to sign in again.
    public var discardedSessions: [String]

    /// Creates a result; the middleware does.
    @usableFromInline
    init(value: Value, headers: [SessionHeader], discardedSessions: [String] = []) {
        self.value = value
        self.headers = headers
        self.discardedSessions = discardedSessions
    }

    /// The `Set-Cookie` values among ``headers``.
    public var setCookies: [String] {
        headers.compactMap { $0.name == SessionHeader.setCookie ? $0.value : nil }
    }
}

extension SessionResult: Sendable where Value: Sendable {}

/// One response header to add.
public struct SessionHeader: Sendable, Hashable {
    /// The header name.
    public var name: String
    /// The header value.
    public var value: String

    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// `Set-Cookie`.
    public static let setCookie = "Set-Cookie"
    /// `Vary`.
    public static let vary = "Vary"
    /// `Cache-Control`.
    public static let cacheControl = "Cache-Control"
}
