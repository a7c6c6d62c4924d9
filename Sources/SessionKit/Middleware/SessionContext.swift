import Synchronization

/// A request's access to its sessions, given to the handler by ``SessionMiddleware``.
///
/// Safe to use from several tasks of the same request: concurrent first calls share one load.
public final class SessionContext: Sendable {
    /// Held for the whole life of the context: it keeps ``firstCore``'s object alive.
    let entries: [SessionMiddleware.Entry]
    let firstCore: UnretainedCore?
    let cookieHeaders: [String]
    let cookieLimits: CookieHeader.Limits
    /// One state per interface, in the middleware's order.
    let states: Mutex<SlotStates>

    /// The slots' states; the first is stored inline, so a single interface costs no array.
    struct SlotStates {
        var first: SlotState = .idle
        var rest: [SlotState]

        init(count: Int) {
            rest = count > 1 ? Array(repeating: .idle, count: count - 1) : []
        }

        subscript(index: Int) -> SlotState {
            get { index == 0 ? first : rest[index - 1] }
            set {
                if index == 0 { first = newValue } else { rest[index - 1] = newValue }
            }
        }

        var count: Int { rest.count + 1 }
    }

    enum SlotState {
        case idle
        case loading([CheckedContinuation<Session, any Error>])
        case loaded(Session, cookieValues: CookieValues)
        case failed(any Error)
    }

    init(middleware: SessionMiddleware, cookieHeaders: [String]) {
        self.entries = middleware.entries
        self.firstCore = middleware.firstCore
        self.cookieHeaders = cookieHeaders
        self.cookieLimits = middleware.cookieLimits
        self.states = Mutex(SlotStates(count: middleware.entries.count))
    }

    /// Returns the session of the interface whose ``SessionConfiguration/sessionName`` is
    /// `name`, loading it on first use.
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` for an unknown name, or
    ///   the store's error when the session cannot be loaded (`storeUnavailable` when the
    ///   store is down). After a load failure nothing is written for this session, so the
    ///   stored data stays intact; the handler may answer with an error page.
    nonisolated(nonsending) public func session(_ name: String = "session") async throws -> Session {
        guard let index = entries.firstIndex(where: { $0.sessionName == name }) else {
            let known = entries.map { "\"\($0.sessionName)\"" }.joined(separator: ", ")
            throw SessionError(.invalidConfiguration, "no session interface is named \"\(name)\"; the configured session names are \(known)")
        }
        if let session = try loadNow(index) { return session }
        return try await load(index)
    }

    /// The session at `index` without suspending, when it is loaded already or its interface
    /// opens sessions without suspending (its store can); `nil` otherwise (and nothing done).
    ///
    /// A synchronous open runs under the context's lock: other tasks of the request that ask
    /// meanwhile wait for that lock, not for a continuation.
    private func loadNow(_ index: Int) throws -> Session? {
        try states.withLock { states throws -> Session? in
            switch states[index] {
            case .loaded(let session, _):
                return session
            case .failed(let error):
                throw error
            case .loading:
                return nil
            case .idle:
                do {
                    guard let (session, values) = try openSynchronously(index) else { return nil }
                    states[index] = .loaded(session, cookieValues: values)
                    return session
                } catch {
                    states[index] = .failed(error)
                    throw error
                }
            }
        }
    }

    /// Opens the session at `index` when its interface can do it without suspending (its
    /// store completes its operations without suspending); `nil` otherwise.
    private func openSynchronously(_ index: Int) throws -> (Session, CookieValues)? {
        if index == 0, let first = firstCore {
            let values = CookieHeader.cookieValues(named: first.cookieName, in: cookieHeaders, limits: cookieLimits)
            return (try first.withCore { try $0.openNow(cookieValues: values) }, values)
        }
        let entry = entries[index]
        guard let core = entry.immediateCore else { return nil }
        let values = CookieHeader.cookieValues(named: entry.cookieName, in: cookieHeaders, limits: cookieLimits)
        return (try core.openNow(cookieValues: values), values)
    }

    private enum Action {
        case load
        case wait
        case done(Session)
        case fail(any Error)
    }

    /// Tells tasks waiting for a load that the loading task was cancelled: they load again.
    private struct RetryLoad: Error {}

    nonisolated(nonsending) private func load(_ index: Int) async throws -> Session {
        while true {
            do {
                return try await loadOnce(index)
            } catch is RetryLoad {
                continue
            }
        }
    }

    nonisolated(nonsending) private func loadOnce(_ index: Int) async throws -> Session {
        let action = states.withLock { states -> Action in
            switch states[index] {
            case .idle:
                states[index] = .loading([])
                return .load
            case .loading: return .wait
            case .loaded(let session, _): return .done(session)
            case .failed(let error): return .fail(error)
            }
        }
        switch action {
        case .done(let session):
            return session
        case .fail(let error):
            throw error
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let ready = states.withLock { states -> Result<Session, any Error>? in
                    switch states[index] {
                    case .loading(var waiters):
                        waiters.append(continuation)
                        states[index] = .loading(waiters)
                        return nil
                    case .loaded(let session, _): return .success(session)
                    case .failed(let error): return .failure(error)
                    case .idle: return .failure(RetryLoad())
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        case .load:
            let entry = entries[index]
            let values = CookieHeader.values(named: entry.cookieName, in: cookieHeaders, limits: cookieLimits)
            do {
                let session = try await entry.open(cookieValues: values)
                let waiters = finish(index, .loaded(session, cookieValues: CookieValues(values)))
                for waiter in waiters { waiter.resume(returning: session) }
                return session
            } catch is CancellationError {
                // This task was cancelled, not the request: other tasks load for themselves.
                let waiters = finish(index, .idle)
                for waiter in waiters { waiter.resume(throwing: RetryLoad()) }
                throw CancellationError()
            } catch {
                let waiters = finish(index, .failed(error))
                for waiter in waiters { waiter.resume(throwing: error) }
                throw error
            }
        }
    }

    private func finish(_ index: Int, _ state: SlotState) -> [CheckedContinuation<Session, any Error>] {
        states.withLock { states in
            guard case .loading(let waiters) = states[index] else { return [] }
            states[index] = state
            return waiters
        }
    }

    /// The response headers of a commit: one `Set-Cookie` per cookie, then `Vary` when a
    /// session was used and `Cache-Control` when a cookie is set.
    private struct Headers {
        var headers: [SessionHeader] = []
        var used = false
        var cookieSet = false
        /// The names of the sessions whose commit found them ended.
        var discarded: [String] = []

        mutating func use(capacity: Int) {
            guard !used else { return }
            // One Set-Cookie per session, Vary and Cache-Control: one allocation.
            headers.reserveCapacity(capacity + 2)
            used = true
        }

        mutating func add(_ cookies: [String]) {
            for cookie in cookies { add(cookie) }
        }

        mutating func add(_ cookie: String?) {
            guard let cookie else { return }
            headers.append(SessionHeader(name: SessionHeader.setCookie, value: cookie))
            cookieSet = true
        }

        mutating func finish() -> Committed {
            if used { headers.append(SessionHeader(name: SessionHeader.vary, value: "Cookie")) }
            if cookieSet { headers.append(SessionHeader(name: SessionHeader.cacheControl, value: "private")) }
            return Committed(headers: headers, discarded: discarded)
        }
    }

    /// What committing the request's sessions gave.
    @usableFromInline
    struct Committed {
        /// The headers to add to the response.
        @usableFromInline var headers: [SessionHeader]
        /// The names of the sessions that had ended meanwhile (nothing written for them).
        @usableFromInline var discarded: [String]
    }

    /// Commits every opened session and returns the headers to add.
    @usableFromInline
    nonisolated(nonsending) func commit(onlyWhenHandlerThrew: Bool = false) async throws -> Committed {
        let snapshot = states.withLock { $0 }
        var headers = Headers()
        var firstError: (any Error)?
        for index in 0..<snapshot.count {
            guard case .loaded(let session, let values) = snapshot[index] else { continue }
            if onlyWhenHandlerThrew && !entries[index].interface.commitsWhenHandlerThrows { continue }
            headers.use(capacity: snapshot.count)
            do {
                let committed = try await entries[index].commit(session, cookieValues: values.array)
                headers.add(committed.cookies)
                if committed.discarded { headers.discarded.append(entries[index].sessionName) }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return headers.finish()
    }

    /// ``commit(onlyWhenHandlerThrew:)`` after a handler that returned, without suspending,
    /// when every opened session's interface commits without suspending (its store can);
    /// `nil` otherwise, and nothing is committed.
    @usableFromInline
    func commitNow() throws -> Committed? {
        let snapshot = states.withLock { $0 }
        for index in 0..<snapshot.count {
            guard case .loaded = snapshot[index] else { continue }
            if index == 0, let first = firstCore, first.commitsImmediately { continue }
            guard entries[index].immediateCore?.commitsImmediately == true else { return nil }
        }
        var headers = Headers()
        var firstError: (any Error)?
        for index in 0..<snapshot.count {
            guard case .loaded(let session, let values) = snapshot[index] else { continue }
            headers.use(capacity: snapshot.count)
            do {
                let committed: StoreSessionCore.Committed
                if index == 0, let first = firstCore {
                    committed = try first.withCore { try $0.commitNow(session, hadCookie: !values.isEmpty) }
                } else {
                    committed = try entries[index].immediateCore!.commitNow(session, hadCookie: !values.isEmpty)
                }
                headers.add(committed.cookie)
                if committed.discarded { headers.discarded.append(entries[index].sessionName) }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return headers.finish()
    }
}
