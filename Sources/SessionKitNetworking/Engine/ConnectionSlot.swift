import Synchronization

/// How a store opens its connections: the socket, then its handshake, with the store's errors.
@_spi(Engine) public protocol ConnectionFactory<Codec>: Sendable {
    associatedtype Codec: ConnectionCodec

    /// Opens a connection on `loop` and prepares it for requests (the handshake, checks of the
    /// server). Throws the store's own error, which the slot hands to its waiters as is.
    func connect(on loop: EventLoop) async throws -> PipelinedConnection<Codec>

    /// The error to fail fast with while the server is backing off after the connect error
    /// `error`, with `remaining` left before the next attempt.
    func failFastError(after error: any Error, remaining: Duration) -> any Error

    /// What a caller whose deadline passed while the connection was still being opened is
    /// told may be wrong; default "the server may be unreachable or overloaded".
    var slowConnectHint: String { get }
}

extension ConnectionFactory {
    @_spi(Engine) public var slowConnectHint: String { "the server may be unreachable or overloaded" }
}

/// One of a client's connections over its lifetime: connects on demand (through the store's
/// ``ConnectionFactory``) and, while the server is known to be down (``ServerHealth``), fails fast.
@_spi(Engine) public final class ConnectionSlot<Factory: ConnectionFactory>: Sendable {
    @_spi(Engine) public typealias Link = PipelinedConnection<Factory.Codec>

    @usableFromInline
    enum Phase {
        case idle
        case connecting
        case ready(Link)
        case shutDown
    }

    @usableFromInline
    struct State {
        @usableFromInline var phase: Phase = .idle
        @usableFromInline var lastError: (any Error)?
        @usableFromInline var waiters: [UInt64: CheckedContinuation<Link, any Error>] = [:]
        @usableFromInline var nextWaiter: UInt64 = 0

        @inlinable init() {}
    }

    @usableFromInline let state = Mutex(State())
    @usableFromInline let factory: Factory
    @usableFromInline let loop: EventLoop
    @usableFromInline let label: ServerLabel
    @usableFromInline let health: ServerHealth
    /// Told the consecutive failure count after each failed attempt.
    private let onFailure: (@Sendable (Int) -> Void)?

    /// - Parameters:
    ///   - label: the server, for messages of the slot's own.
    ///   - onFailure: called after each failed connection attempt with the consecutive failure count.
    @_spi(Engine) public init(factory: Factory, loop: EventLoop, label: ServerLabel, health: ServerHealth, onFailure: (@Sendable (Int) -> Void)? = nil) {
        self.factory = factory
        self.loop = loop
        self.label = label
        self.health = health
        self.onFailure = onFailure
    }

    /// The open connection, if there is one, without waiting.
    @inlinable
    @_spi(Engine) public func readyConnection() -> Link? {
        state.withLock { state in
            if case .ready(let connection) = state.phase, !connection.isClosed { return connection }
            return nil
        }
    }

    @usableFromInline
    enum Decision {
        case use(Link)
        case fail(any Error)
        case wait(startConnecting: Bool)
    }

    /// Returns an open connection, connecting if needed; fails fast while backing off.
    ///
    /// - Throws: the store's connect error, its fail-fast error, or ``NetworkError``
    ///   (`.timeout`, `.connectionClosed`, `.shutDown`).
    @inlinable
    @_spi(Engine) public func acquire(deadline: Deadline) async throws -> Link {
        let decision = state.withLock { state -> Decision in
            switch state.phase {
            case .ready(let connection):
                if !connection.isClosed { return .use(connection) }
                // It worked until now: reconnect at once, unless the server is known to be down.
                if let error = failFastError() { return .fail(error) }
                state.phase = .connecting
                return .wait(startConnecting: true)
            case .idle:
                if let error = failFastError() { return .fail(error) }
                state.phase = .connecting
                return .wait(startConnecting: true)
            case .connecting:
                return .wait(startConnecting: false)
            case .shutDown:
                return .fail(label.clientClosed)
            }
        }
        switch decision {
        case .use(let connection):
            return connection
        case .fail(let error):
            throw error
        case .wait(let startConnecting):
            if startConnecting {
                Task { await self.connect() }
            }
            return try await waitForConnection(deadline: deadline)
        }
    }

    @usableFromInline
    func failFastError() -> (any Error)? {
        health.backingOff().map { factory.failFastError(after: $0.error, remaining: $0.remaining) }
    }

    @usableFromInline
    func waitForConnection(deadline: Deadline) async throws -> Link {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let label = self.label
        let hint = factory.slowConnectHint
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Link, any Error>) in
                let immediate: Result<Link, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    switch state.phase {
                    case .ready(let connection) where !connection.isClosed:
                        return .success(connection)
                    case .connecting:
                        state.waiters[id] = continuation
                        return nil
                    case .idle where state.lastError != nil:
                        return .failure(state.lastError!)
                    default:
                        return .failure(NetworkError(.connectionClosed, "the connection to \(label) closed while the client was waiting for it"))
                    }
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                loop.schedule(at: deadline) { [weak self] in
                    self?.resumeWaiter(id, with: .failure(NetworkError(.timeout, "connecting to \(label) did not finish within the command timeout; \(hint)")))
                }
            }
        } onCancel: {
            self.resumeWaiter(id, with: .failure(CancellationError()))
        }
    }

    private func resumeWaiter(_ id: UInt64, with result: Result<Link, any Error>) {
        let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
        continuation?.resume(with: result)
    }

    /// Runs one connection attempt and hands its outcome to the waiters.
    @usableFromInline
    func connect() async {
        let outcome: Result<Link, any Error>
        do {
            outcome = .success(try await factory.connect(on: loop))
        } catch {
            outcome = .failure(error)
        }
        var failures = 0
        let (waiters, shutDownMeanwhile) = state.withLock { state -> ([CheckedContinuation<Link, any Error>], Bool) in
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            if case .shutDown = state.phase { return (waiters, true) }
            switch outcome {
            case .success(let connection):
                health.recordSuccess()
                state.lastError = nil
                state.phase = .ready(connection)
            case .failure(let error):
                failures = health.recordFailure(error)
                state.lastError = error
                state.phase = .idle
            }
            return (waiters, false)
        }
        if shutDownMeanwhile {
            if case .success(let connection) = outcome {
                connection.close(reason: label.clientClosed)
            }
            for waiter in waiters { waiter.resume(throwing: label.clientClosed) }
            return
        }
        if failures > 0 { onFailure?(failures) }
        for waiter in waiters { waiter.resume(with: outcome) }
    }

    /// Closes the open connection if it does not lead to `address` (a Redis primary moved);
    /// the next call reconnects.
    @_spi(Engine) public func closeConnection(unlessAt address: String, reason: NetworkError) {
        let connection = state.withLock { state -> Link? in
            if case .ready(let open) = state.phase, open.address != address { return open }
            return nil
        }
        connection?.close(reason: reason)
    }

    /// Closes the connection for good and fails anyone waiting.
    @_spi(Engine) public func shutDown() {
        let (connection, waiters) = state.withLock { state -> (Link?, [CheckedContinuation<Link, any Error>]) in
            var connection: Link?
            if case .ready(let open) = state.phase { connection = open }
            state.phase = .shutDown
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (connection, waiters)
        }
        connection?.close(reason: label.clientClosed)
        for waiter in waiters { waiter.resume(throwing: label.clientClosed) }
    }
}
