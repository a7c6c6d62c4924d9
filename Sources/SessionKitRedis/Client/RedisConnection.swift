import SessionKit
import SessionKitNetworking
import Synchronization

/// One multiplexed connection to Redis: commands from many tasks are appended to one outbound
/// buffer (auto-pipelining) and their replies are matched first-in, first-out.
///
/// The invariant that keeps replies with their callers: every command written gets exactly one
/// slot in `queue`, and a slot leaves the queue only when its reply is parsed (or when the
/// connection dies). A cancelled or timed-out caller is resumed at once, but its slot stays and
/// its reply is read and dropped.
///
/// Deadlines: the pending commands' deadlines sit in a queue ordered by deadline, and one event
/// loop timer per connection fires for the earliest; no timer is allocated per command.
final class RedisConnection: ConnectionDelegate, Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<RESPValue, any Error>
        let readEpoch: UInt64
    }

    private struct State {
        var queue = RequestQueue()
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var closed: SessionError?
        var closeReason: SessionError?
        var readEpoch: UInt64 = 0
        var connection: Connection?
        var deadlines = DeadlineQueue()
        /// The deadline the armed loop timer fires at, if one is armed.
        var timerDeadline: UInt64?
    }

    private let state = Mutex(State())
    private let closedFlag = Atomic<Bool>(false)
    private let pushes = Atomic<Int>(0)
    private let writtenCommands = Atomic<Int>(0)

    /// How many RESP3 push frames arrived (and were skipped) on this connection.
    var pushFramesSkipped: Int { pushes.load(ordering: .relaxed) }
    /// How many commands were written on this connection (for tests and diagnostics).
    var commandsWritten: Int { writtenCommands.load(ordering: .relaxed) }
    private let parser: Mutex<RESPParser>
    let address: String
    let commandTimeout: Duration
    let maxPending: Int
    /// Test-only fault: free a cancelled request's slot, the redis-py 2023 bug. Never set in production.
    let freesCancelledSlots: Bool
    /// Whether a command timing out with nothing read since it was sent closes the connection
    /// as stalled (always, except in tests of deadline handling itself).
    let closesStalledConnections: Bool
    let loop: EventLoop

    init(address: String, loop: EventLoop, limits: RESPParser.Limits, commandTimeout: Duration, maxPending: Int, freesCancelledSlots: Bool, closesStalledConnections: Bool = true) {
        self.closesStalledConnections = closesStalledConnections
        self.address = address
        self.loop = loop
        self.parser = Mutex(RESPParser(limits: limits))
        self.commandTimeout = commandTimeout
        self.maxPending = maxPending
        self.freesCancelledSlots = freesCancelledSlots
    }

    /// Connects the underlying socket; the handshake is up to the caller.
    func open(endpoint: Endpoint, timeout: Duration) async throws {
        let connection = try await Connection.connect(to: endpoint, on: loop, timeout: timeout, delegate: self)
        state.withLock { $0.connection = connection }
    }

    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// The socket's write statistics (for tests and diagnostics).
    var writeStatistics: (calls: Int, bytes: Int) {
        state.withLock { $0.connection }?.writeStatistics ?? (0, 0)
    }

    /// The number of commands waiting for replies (including cancelled ones whose reply is due).
    var pendingCount: Int { state.withLock { $0.queue.count } }

    /// Closes the connection; commands in flight fail with `reason`.
    func close(reason: SessionError) {
        let connection = state.withLock { state -> Connection? in
            if state.closeReason == nil { state.closeReason = reason }
            // Closed from now on: new commands go to a fresh connection, not this closing one.
            if state.closed == nil { state.closed = reason }
            closedFlag.store(true, ordering: .releasing)
            return state.connection
        }
        if let connection {
            connection.close()
        } else {
            failAll(reason)
        }
    }

    /// Sends one command and waits for its reply (error replies are returned, not thrown).
    ///
    /// - Parameter asking: Cluster `ASK` redirection: `ASKING` goes out right before the command
    ///   in the same write, so that no other command can come between them; its reply is read
    ///   and dropped like a cancelled command's.
    func send(_ arguments: [RedisArgument], deadline: Deadline, asking: Bool = false) async throws -> RESPValue {
        let (id, askingID) = state.withLock { state -> (UInt64, UInt64) in
            state.nextID &+= 2
            return (state.nextID, state.nextID &- 1)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RESPValue, any Error>) in
                let failure: (any Error)? = state.withLock { state -> (any Error)? in
                    if let closed = state.closed {
                        // Never written: a command refused by a closed connection may be sent
                        // again on a new one, whatever ended this one.
                        return closed.code == .timeout
                            ? SessionError(.storeUnavailable, "the connection to \(address) was closed as stalled; the client reconnects on the next call")
                            : closed
                    }
                    if Task.isCancelled { return CancellationError() }
                    guard let connection = state.connection else {
                        return SessionError(.storeUnavailable, "the connection to Redis at \(address) is not open yet")
                    }
                    guard state.queue.count < maxPending else {
                        return SessionError(.storeUnavailable, "Redis at \(address) has \(state.queue.count) commands waiting for replies, the configured maximum; the server is too slow for this load (raise maxPendingCommandsPerConnection or connectionCount, or reduce the load)")
                    }
                    let written = connection.write { buffer in
                        if asking { RESPEncoder.encode(["ASKING"], into: &buffer) }
                        RESPEncoder.encode(arguments, into: &buffer)
                    }
                    guard written else {
                        return state.closeReason ?? SessionError(.storeUnavailable, "the connection to Redis at \(address) is closed; the client reconnects on the next call")
                    }
                    if asking { state.queue.append(askingID) }
                    state.queue.append(id)
                    writtenCommands.add(asking ? 2 : 1, ordering: .relaxed)
                    state.waiters[id] = Waiter(continuation: continuation, readEpoch: state.readEpoch)
                    state.deadlines.insert(deadline: deadline.uptimeNanoseconds, id: id)
                    armTimer(&state)
                    return nil
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            self.abandon(id, with: CancellationError())
        }
    }

    /// Resumes a waiting caller with `error` but keeps its slot: its reply will be read and dropped.
    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
            if freesCancelledSlots { state.queue.remove(id) }
            return waiter
        }
        guard let waiter else { return }
        waiter.continuation.resume(throwing: error)
    }

    /// Makes sure a loop timer fires at the earliest pending deadline. Called with the lock held.
    private func armTimer(_ state: inout State) {
        guard let earliest = state.deadlines.first?.deadline else { return }
        if let armed = state.timerDeadline, armed <= earliest { return }
        state.timerDeadline = earliest
        loop.schedule(at: Deadline(uptimeNanoseconds: earliest)) { [weak self] in self?.deadlinesPassed() }
    }

    /// The earliest deadline passed: fail every command whose deadline has passed (keeping their
    /// slots). If nothing at all was read since such a command was sent, the server is stalled:
    /// the connection is closed so that the client reconnects instead of piling up more commands.
    private func deadlinesPassed() {
        let now = Deadline.now().uptimeNanoseconds
        let (expired, stalled) = state.withLock { state -> ([Waiter], Bool) in
            if let armed = state.timerDeadline, armed <= now { state.timerDeadline = nil }
            var expired: [Waiter] = []
            var stalled = false
            while let first = state.deadlines.first, first.deadline <= now {
                state.deadlines.removeFirst()
                guard let waiter = state.waiters.removeValue(forKey: first.id) else { continue }
                if freesCancelledSlots { state.queue.remove(first.id) }
                if waiter.readEpoch == state.readEpoch { stalled = true }
                expired.append(waiter)
            }
            if state.closed == nil { armTimer(&state) }
            return (expired, stalled)
        }
        guard !expired.isEmpty else { return }
        let timeout = SessionError(.timeout, "Redis at \(address) did not answer within the command timeout (\(Int(commandTimeout.milliseconds)) ms); the server may be overloaded, blocked by a slow command, or unreachable. Raise commandTimeout if this is expected")
        for waiter in expired { waiter.continuation.resume(throwing: timeout) }
        if stalled && closesStalledConnections {
            close(reason: SessionError(.timeout, "Redis at \(address) sent nothing for a whole command timeout, so the connection was closed as stalled; a command sent on it may still be run when the server wakes up, so it is not sent again (an error of this kind is not retried); the client reconnects on the next call"))
        }
    }

    private func failAll(_ reason: SessionError) {
        let waiters = state.withLock { state -> [Waiter] in
            if state.closed == nil { state.closed = state.closeReason ?? reason }
            closedFlag.store(true, ordering: .releasing)
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            state.queue.removeAll()
            state.deadlines.removeAll()
            return waiters
        }
        let error = state.withLock { $0.closed } ?? reason
        for waiter in waiters {
            waiter.continuation.resume(throwing: error)
        }
    }

    // MARK: ConnectionDelegate (event loop thread)

    /// Handles bytes read from the socket.
    ///
    /// RESP3 push frames are out-of-band: they are never matched to a waiting command. Most are
    /// counted and dropped (client-side caching invalidations), but a pub/sub push (`subscribe`,
    /// `message`...) means that a command whose reply is a push went out on this connection:
    /// its caller's slot will never be answered and every later reply would go to the caller
    /// before its own. The connection is then ended at once, under the state lock — every waiter
    /// fails and the queue is emptied, so no reply read after it, even from the same burst of
    /// reads, reaches anyone. (`RedisClient.send` refuses those commands; this is the backstop.)
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        var replies: [RESPValue] = []
        var parseFailure: SessionError?
        var outOfStep: SessionError?
        do {
            try parser.withLock { parser in
                parser.append(bytes)
                while let reply = try parser.next() {
                    if case .push(let frame) = reply {  // out-of-band; never matched to a command
                        pushes.add(1, ordering: .relaxed)
                        if let kind = Self.pubSubKind(of: frame) {
                            outOfStep = SessionError(.protocolError, "Redis at \(address) sent a pub/sub push ('\(kind)') on a shared connection, so a command's reply will never come and later replies would reach the wrong callers; the connection was closed to stay in step")
                            return
                        }
                        continue
                    }
                    replies.append(reply)
                }
            }
        } catch {
            parseFailure = (error as? SessionError) ?? SessionError(.protocolError, "Redis at \(address) sent an unreadable reply: \(error)")
        }
        if let parseFailure {
            close(reason: parseFailure)
            // Replies parsed before the bad one are still delivered below.
        }
        var ready: [(Waiter, RESPValue)] = []
        ready.reserveCapacity(replies.count)
        var failed: [Waiter] = []
        let unsolicited = state.withLock { state -> Bool in
            state.readEpoch &+= 1
            var unsolicited = false
            for reply in replies {
                guard let id = state.queue.popFirst() else {
                    unsolicited = true
                    break
                }
                if let waiter = state.waiters.removeValue(forKey: id) {
                    ready.append((waiter, reply))
                }
            }
            if let outOfStep {
                if state.closeReason == nil { state.closeReason = outOfStep }
                if state.closed == nil { state.closed = outOfStep }
                closedFlag.store(true, ordering: .releasing)
                failed = Array(state.waiters.values)
                state.waiters.removeAll()
                state.queue.removeAll()
                state.deadlines.removeAll()
                return unsolicited
            }
            // Drop the deadlines of commands that are done; the rest stay ordered.
            while let first = state.deadlines.first, state.waiters[first.id] == nil {
                state.deadlines.removeFirst()
            }
            return unsolicited
        }
        for (waiter, reply) in ready {
            waiter.continuation.resume(returning: reply)
        }
        if let outOfStep {
            for waiter in failed { waiter.continuation.resume(throwing: outOfStep) }
            close(reason: outOfStep)
        } else if unsolicited {
            close(reason: SessionError(.protocolError, "Redis at \(address) sent a reply nobody asked for; the connection was closed to stay in step"))
        }
    }

    /// The kind of a pub/sub push frame (`subscribe`, `message`...), or `nil` for other pushes.
    static func pubSubKind(of frame: [RESPValue]) -> String? {
        let kind: String
        switch frame.first {
        case .bulkString(let bytes)?: kind = String(decoding: bytes.prefix(16), as: UTF8.self).lowercased()
        case .simpleString(let text)?: kind = text.lowercased()
        default: return nil
        }
        switch kind {
        case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
             "message", "pmessage", "smessage":
            return kind
        default:
            return nil
        }
    }

    func connection(_ connection: Connection, didCloseWith error: NetworkError?) {
        let detail = error.map { " (\($0.message))" } ?? ""
        failAll(SessionError(.storeUnavailable, "the connection to Redis at \(address) was lost\(detail) before the reply arrived; the command may or may not have run. The client reconnects on the next call"))
    }
}
