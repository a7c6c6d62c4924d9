import Synchronization

/// A request's access to its sessions, given to the handler by ``SessionMiddleware``.
///
/// Safe to use from several tasks of the same request: concurrent first calls share one load.
public final class SessionContext: Sendable {
    let middleware: SessionMiddleware
    let cookieHeaders: [String]
    let slots: [Slot]

    final class Slot: Sendable {
        let interface: any SessionInterface
        let state = Mutex<SlotState>(.idle)
        init(interface: any SessionInterface) { self.interface = interface }
    }

    enum SlotState {
        case idle
        case loading([CheckedContinuation<Session, any Error>])
        case loaded(Session, cookieValues: [String])
        case failed(any Error)
    }

    init(middleware: SessionMiddleware, cookieHeaders: [String]) {
        self.middleware = middleware
        self.cookieHeaders = cookieHeaders
        self.slots = middleware.interfaces.map(Slot.init)
    }

    /// Returns the session of the interface whose ``SessionConfiguration/sessionName`` is
    /// `name`, loading it on first use.
    ///
    /// - Throws: ``SessionError`` with code `invalidConfiguration` for an unknown name, or
    ///   the store's error when the session cannot be loaded (`storeUnavailable` when the
    ///   store is down). After a load failure nothing is written for this session, so the
    ///   stored data stays intact; the handler may answer with an error page.
    public func session(_ name: String = "session") async throws -> Session {
        guard let slot = slots.first(where: { $0.interface.configuration.sessionName == name }) else {
            let known = slots.map { "\"\($0.interface.configuration.sessionName)\"" }.joined(separator: ", ")
            throw SessionError(.invalidConfiguration, "no session interface is named \"\(name)\"; the configured session names are \(known)")
        }
        return try await load(slot)
    }

    private enum Action {
        case load
        case wait
        case done(Session)
        case fail(any Error)
    }

    private func load(_ slot: Slot) async throws -> Session {
        let action = slot.state.withLock { state -> Action in
            switch state {
            case .idle:
                state = .loading([])
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
                let ready = slot.state.withLock { state -> Result<Session, any Error>? in
                    switch state {
                    case .loading(var waiters):
                        waiters.append(continuation)
                        state = .loading(waiters)
                        return nil
                    case .loaded(let session, _): return .success(session)
                    case .failed(let error): return .failure(error)
                    case .idle: return .failure(SessionError(.storeFailure, "internal error: session slot reset while loading"))
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        case .load:
            let values = CookieHeader.values(
                named: slot.interface.configuration.cookieName, in: cookieHeaders, limits: middleware.cookieLimits)
            let result: Result<Session, any Error>
            do {
                result = .success(try await slot.interface.open(cookieValues: values))
            } catch {
                result = .failure(error)
            }
            let waiters = slot.state.withLock { state -> [CheckedContinuation<Session, any Error>] in
                guard case .loading(let waiters) = state else { return [] }
                switch result {
                case .success(let session): state = .loaded(session, cookieValues: values)
                case .failure(let error): state = .failed(error)
                }
                return waiters
            }
            for waiter in waiters { waiter.resume(with: result) }
            return try result.get()
        }
    }

    /// Commits every opened session and returns the headers to add.
    func commit() async throws -> [SessionHeader] {
        var headers: [SessionHeader] = []
        var used = false
        var firstError: (any Error)?
        for slot in slots {
            guard case .loaded(let session, let values) = slot.state.withLock({ $0 }) else { continue }
            used = true
            do {
                for cookie in try await slot.interface.commit(session, cookieValues: values) {
                    headers.append(SessionHeader(name: SessionHeader.setCookie, value: cookie))
                }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        if used { headers.append(SessionHeader(name: "Vary", value: "Cookie")) }
        if headers.contains(where: { $0.name == SessionHeader.setCookie }) {
            headers.append(SessionHeader(name: "Cache-Control", value: "private"))
        }
        return headers
    }
}
