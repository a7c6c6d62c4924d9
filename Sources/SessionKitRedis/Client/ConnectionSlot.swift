import SessionKit
import SessionKitNetworking
import Synchronization

/// Finds the server to connect to at each (re)connect, and checks it after the handshake
/// (Sentinel: the current primary, whose `ROLE` must be master).
protocol NodeLocator: Sendable {
    /// The address to connect to now.
    func locate(deadline: Deadline) async throws -> RedisConfiguration.Address
    /// Checks the freshly connected server; throws to refuse it.
    func verify(_ connection: RedisConnection, at address: RedisConfiguration.Address, deadline: Deadline) async throws
}

/// One of the client's connections over its lifetime: connects on demand and performs the
/// handshake; while the server is known to be down (``ServerHealth``) it fails fast.
final class ConnectionSlot: Sendable {
    private enum Phase {
        case idle
        case connecting
        case ready(RedisConnection)
        case shutDown
    }

    private struct State {
        var phase: Phase = .idle
        var lastError: SessionError?
        var waiters: [UInt64: CheckedContinuation<RedisConnection, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let configuration: RedisConfiguration
    private let loop: EventLoop
    private let freesCancelledSlots: Bool
    private let address: String
    private let health: ServerHealth
    private let locator: (any NodeLocator)?

    init(configuration: RedisConfiguration, loop: EventLoop, health: ServerHealth, freesCancelledSlots: Bool, locator: (any NodeLocator)? = nil) {
        self.configuration = configuration
        self.locator = locator
        self.health = health
        self.loop = loop
        self.freesCancelledSlots = freesCancelledSlots
        self.address = locator == nil ? "\(configuration.address)" : "the primary found through Sentinel"
    }

    /// The open connection, if there is one, without waiting.
    func readyConnection() -> RedisConnection? {
        state.withLock { state in
            if case .ready(let connection) = state.phase, !connection.isClosed { return connection }
            return nil
        }
    }

    private enum Decision {
        case use(RedisConnection)
        case fail(any Error)
        case wait(startConnecting: Bool)
    }

    /// Returns an open connection, connecting if needed; fails fast while backing off.
    func acquire(deadline: Deadline) async throws -> RedisConnection {
        let decision = state.withLock { state -> Decision in
            switch state.phase {
            case .ready(let connection):
                if !connection.isClosed { return .use(connection) }
                // It worked until now: reconnect at once, unless the server is known to be down.
                if let error = health.failFastError() { return .fail(error) }
                state.phase = .connecting
                return .wait(startConnecting: true)
            case .idle:
                if let error = health.failFastError() { return .fail(error) }
                state.phase = .connecting
                return .wait(startConnecting: true)
            case .connecting:
                return .wait(startConnecting: false)
            case .shutDown:
                return .fail(SessionError(.storeUnavailable, "this RedisClient was closed; create a new one"))
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

    private func waitForConnection(deadline: Deadline) async throws -> RedisConnection {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let address = self.address
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection, any Error>) in
                let immediate: Result<RedisConnection, any Error>? = state.withLock { state in
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
                        return .failure(SessionError(.storeUnavailable, "the connection to Redis at \(address) closed while the client was waiting for it"))
                    }
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                loop.schedule(at: deadline) { [weak self] in
                    self?.resumeWaiter(id, with: .failure(SessionError(.timeout, "connecting to Redis at \(address) did not finish within the command timeout; the server may be unreachable or overloaded")))
                }
            }
        } onCancel: {
            self.resumeWaiter(id, with: .failure(CancellationError()))
        }
    }

    private func resumeWaiter(_ id: UInt64, with result: Result<RedisConnection, any Error>) {
        let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
        continuation?.resume(with: result)
    }

    /// Runs one connection attempt (socket and handshake) and publishes the outcome.
    private func connect() async {
        let deadline = Deadline.after(configuration.connectTimeout)
        var target = configuration.address
        if let locator {
            do {
                target = try await locator.locate(deadline: deadline)
            } catch {
                let failure = (error as? SessionError) ?? SessionError(.storeUnavailable, "cannot find the Redis primary: \(error)")
                publish(.failure(failure))
                return
            }
        }
        let address = "\(target)"
        let connection = RedisConnection(
            address: address, loop: loop, limits: configuration.parserLimits,
            commandTimeout: configuration.commandTimeout,
            maxPending: configuration.maxPendingCommandsPerConnection,
            freesCancelledSlots: freesCancelledSlots)
        let outcome: Result<RedisConnection, SessionError>
        do {
            try await connection.open(endpoint: Self.endpoint(target), timeout: max(deadline.remaining, .milliseconds(1)))
            try await Handshake.perform(on: connection, configuration: configuration, deadline: deadline)
            try await locator?.verify(connection, at: target, deadline: deadline)
            outcome = .success(connection)
        } catch let error as SessionError {
            connection.close(reason: error)
            outcome = .failure(error)
        } catch let error as NetworkError {
            connection.close(reason: SessionError(.storeUnavailable, error.message))
            let hint = error.code == .timeout
                ? "check that the host is reachable, or raise connectTimeout"
                : "check that redis-server is running and the URL is right"
            outcome = .failure(SessionError(error.code == .timeout ? .timeout : .storeUnavailable,
                                            "cannot connect to Redis at \(address): \(error.message); \(hint)"))
        } catch {
            connection.close(reason: SessionError(.storeUnavailable, "connect failed"))
            outcome = .failure(SessionError(.storeUnavailable, "cannot connect to Redis at \(address): \(error)"))
        }
        publish(outcome)
    }

    /// Hands the outcome of a connection attempt to the waiters.
    private func publish(_ outcome: Result<RedisConnection, SessionError>) {
        let (waiters, shutDownMeanwhile) = state.withLock { state -> ([CheckedContinuation<RedisConnection, any Error>], Bool) in
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            if case .shutDown = state.phase { return (waiters, true) }
            switch outcome {
            case .success(let connection):
                health.recordSuccess()
                state.lastError = nil
                state.phase = .ready(connection)
            case .failure(let error):
                health.recordFailure(error)
                state.lastError = error
                state.phase = .idle
            }
            return (waiters, false)
        }
        if shutDownMeanwhile {
            if case .success(let connection) = outcome {
                connection.close(reason: SessionError(.storeUnavailable, "this RedisClient was closed"))
            }
            for waiter in waiters { waiter.resume(throwing: SessionError(.storeUnavailable, "this RedisClient was closed; create a new one")) }
            return
        }
        for waiter in waiters {
            switch outcome {
            case .success(let connection): waiter.resume(returning: connection)
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
    }

    private static func endpoint(_ address: RedisConfiguration.Address) -> Endpoint {
        switch address {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }

    /// Closes the open connection if it does not lead to `address` (the primary moved); the next
    /// call reconnects.
    func closeConnection(unlessAt address: String, reason: SessionError) {
        let connection = state.withLock { state -> RedisConnection? in
            if case .ready(let open) = state.phase, open.address != address { return open }
            return nil
        }
        connection?.close(reason: reason)
    }

    /// Closes the connection for good and fails anyone waiting.
    func shutDown() {
        let (connection, waiters) = state.withLock { state -> (RedisConnection?, [CheckedContinuation<RedisConnection, any Error>]) in
            var connection: RedisConnection?
            if case .ready(let open) = state.phase { connection = open }
            state.phase = .shutDown
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (connection, waiters)
        }
        connection?.close(reason: SessionError(.storeUnavailable, "this RedisClient was closed"))
        for waiter in waiters { waiter.resume(throwing: SessionError(.storeUnavailable, "this RedisClient was closed; create a new one")) }
    }
}
