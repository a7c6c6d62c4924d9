import SessionKit
import SessionKitNetworking
import Synchronization

/// One of a server's connections over its lifetime: connects on demand, and while the server
/// is known to be down (``MemcachedServerHealth``) fails fast.
final class MemcachedConnectionSlot: Sendable {
    private enum Phase {
        case idle
        case connecting
        case ready(MemcachedConnection)
        case shutDown
    }

    private struct State {
        var phase: Phase = .idle
        var lastError: SessionError?
        var waiters: [UInt64: CheckedContinuation<MemcachedConnection, any Error>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let server: MemcachedConfiguration.Server
    private let configuration: MemcachedConfiguration
    private let loop: EventLoop
    private let health: MemcachedServerHealth
    private let freesCancelledSlots: Bool
    private let limits: MemcachedParser.Limits
    private let address: String
    /// Called after each failed connection attempt with the consecutive failure count.
    private let onFailure: @Sendable (Int) -> Void

    init(server: MemcachedConfiguration.Server, configuration: MemcachedConfiguration, loop: EventLoop, health: MemcachedServerHealth,
         freesCancelledSlots: Bool, onFailure: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.configuration = configuration
        self.loop = loop
        self.health = health
        self.freesCancelledSlots = freesCancelledSlots
        self.onFailure = onFailure
        self.address = server.description
        // Replies may carry a value of up to maxItemSize bytes.
        self.limits = MemcachedParser.Limits(maximumValueLength: configuration.maxItemSize)
    }

    /// The open connection, if there is one, without waiting.
    func readyConnection() -> MemcachedConnection? {
        state.withLock { state in
            if case .ready(let connection) = state.phase, !connection.isClosed { return connection }
            return nil
        }
    }

    private enum Decision {
        case use(MemcachedConnection)
        case fail(any Error)
        case wait(startConnecting: Bool)
    }

    /// Returns an open connection, connecting if needed; fails fast while backing off.
    func acquire(deadline: Deadline) async throws -> MemcachedConnection {
        let decision = state.withLock { state -> Decision in
            switch state.phase {
            case .ready(let connection):
                if !connection.isClosed { return .use(connection) }
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
                return .fail(SessionError(.storeUnavailable, "this MemcachedClient was closed; create a new one"))
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

    private func waitForConnection(deadline: Deadline) async throws -> MemcachedConnection {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let address = self.address
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<MemcachedConnection, any Error>) in
                let immediate: Result<MemcachedConnection, any Error>? = state.withLock { state in
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
                        return .failure(SessionError(.storeUnavailable, "the connection to memcached at \(address) closed while the client was waiting for it"))
                    }
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                loop.schedule(at: deadline) { [weak self] in
                    self?.resumeWaiter(id, with: .failure(SessionError(.timeout, "connecting to memcached at \(address) did not finish within the command timeout; the server may be unreachable or overloaded")))
                }
            }
        } onCancel: {
            self.resumeWaiter(id, with: .failure(CancellationError()))
        }
    }

    private func resumeWaiter(_ id: UInt64, with result: Result<MemcachedConnection, any Error>) {
        let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
        continuation?.resume(with: result)
    }

    private var endpoint: Endpoint {
        switch server {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }

    /// Runs one connection attempt and publishes the outcome.
    private func connect() async {
        let connection = MemcachedConnection(
            address: address, loop: loop, limits: limits, commandTimeout: configuration.commandTimeout,
            maxPending: configuration.maxPendingCommandsPerConnection, freesCancelledSlots: freesCancelledSlots)
        let outcome: Result<MemcachedConnection, SessionError>
        do {
            try await connection.open(endpoint: endpoint, timeout: configuration.connectTimeout)
            outcome = .success(connection)
        } catch let error as NetworkError {
            connection.close(reason: SessionError(.storeUnavailable, error.message))
            let hint = error.code == .timeout
                ? "check that the host is reachable, or raise connectTimeout"
                : "check that memcached is running and the server list is right"
            outcome = .failure(SessionError(error.code == .timeout ? .timeout : .storeUnavailable,
                                            "cannot connect to memcached at \(address): \(error.message); \(hint)"))
        } catch {
            connection.close(reason: SessionError(.storeUnavailable, "connect failed"))
            outcome = .failure(SessionError(.storeUnavailable, "cannot connect to memcached at \(address): \(error)"))
        }

        var failures = 0
        let (waiters, shutDownMeanwhile) = state.withLock { state -> ([CheckedContinuation<MemcachedConnection, any Error>], Bool) in
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
                connection.close(reason: SessionError(.storeUnavailable, "this MemcachedClient was closed"))
            }
            for waiter in waiters { waiter.resume(throwing: SessionError(.storeUnavailable, "this MemcachedClient was closed; create a new one")) }
            return
        }
        if failures > 0 { onFailure(failures) }
        for waiter in waiters {
            switch outcome {
            case .success(let connection): waiter.resume(returning: connection)
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
    }

    /// Closes the connection for good and fails anyone waiting.
    func shutDown() {
        let (connection, waiters) = state.withLock { state -> (MemcachedConnection?, [CheckedContinuation<MemcachedConnection, any Error>]) in
            var connection: MemcachedConnection?
            if case .ready(let open) = state.phase { connection = open }
            state.phase = .shutDown
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (connection, waiters)
        }
        connection?.close(reason: SessionError(.storeUnavailable, "this MemcachedClient was closed"))
        for waiter in waiters { waiter.resume(throwing: SessionError(.storeUnavailable, "this MemcachedClient was closed; create a new one")) }
    }
}
