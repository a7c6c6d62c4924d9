import SessionKit
import SessionKitNetworking
import Synchronization

/// What a request expects back, so that a reply of the wrong shape (a sign that the stream
/// is out of step) closes the connection instead of reaching a caller.
enum ReplyExpectation: Sendable {
    /// A get-style reply whose items may only carry these keys, in this order.
    case items([[UInt8]])
    /// A one-line reply (STORED, DELETED, TOUCHED...).
    case line
    /// A meta reply of one of `kind`'s statuses (`nil`: any meta reply, in tests only) carrying
    /// exactly the flag `opaque` (`O<token>`), when the command was sent with one.
    case meta(MetaReplyKind?, opaque: String?)

    func accepts(_ reply: MemcachedReply) -> Bool {
        if reply.isError { return true }
        switch (self, reply) {
        case (.items(let keys), .values(let items)):
            // memcached answers in request order, leaving out misses.
            var next = 0
            for item in items {
                let bytes = Array(item.key.utf8)
                guard let found = keys[next...].firstIndex(of: bytes) else { return false }
                next = found + 1
            }
            return true
        case (.line, .values), (.line, .meta), (.items, _), (.meta, .values): return false
        case (.meta(let kind, let opaque), .meta(let meta)):
            guard let kind else { return true }
            guard kind.accepts(meta.status) else { return false }
            guard let opaque else { return true }
            var found = false
            for flag in meta.flags where flag.utf8.first == UInt8(ascii: "O") {
                guard !found, flag == opaque else { return false }
                found = true
            }
            return found
        case (.meta, _): return false
        case (.line, _): return true
        }
    }
}

/// One multiplexed connection to a memcached server: commands from many tasks are appended to
/// one outbound buffer (auto-pipelining) and their replies matched first-in, first-out.
///
/// The invariant that keeps replies with their callers: every command written gets exactly one
/// slot in `queue`, and a slot leaves the queue only when its reply is parsed or the connection
/// dies. A cancelled or timed-out caller is resumed at once, but its slot stays and its reply is
/// read and dropped. Each reply is also checked against the shape and keys its request expects,
/// and a meta reply against its command's kind and opaque token; a mismatch closes the connection.
final class MemcachedConnection: ConnectionDelegate, Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<MemcachedReply, any Error>
        var timer: EventLoop.Timer?
        let readEpoch: UInt64
    }

    private struct Pending {
        let id: UInt64
        let expectation: ReplyExpectation
    }

    private struct State {
        var queue: [Pending] = []
        var head = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var closed: SessionError?
        var closeReason: SessionError?
        var readEpoch: UInt64 = 0
        var connection: Connection?

        var pendingCount: Int { queue.count - head }

        mutating func popFirst() -> Pending? {
            guard head < queue.count else { return nil }
            let first = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: queue.capacity <= 65536)
                head = 0
            } else if head >= 4096 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return first
        }
    }

    private let state = Mutex(State())
    private let closedFlag = Atomic<Bool>(false)
    private let writtenCommands = Atomic<Int>(0)
    private let parser: Mutex<MemcachedParser>
    let address: String
    let commandTimeout: Duration
    let maxPending: Int
    /// Test-only fault: free a cancelled request's slot and skip reply checks, the 2023 redis-py
    /// bug. Never set in production.
    let freesCancelledSlots: Bool
    let loop: EventLoop

    init(address: String, loop: EventLoop, limits: MemcachedParser.Limits, commandTimeout: Duration, maxPending: Int, freesCancelledSlots: Bool) {
        self.address = address
        self.loop = loop
        self.parser = Mutex(MemcachedParser(limits: limits))
        self.commandTimeout = commandTimeout
        self.maxPending = maxPending
        self.freesCancelledSlots = freesCancelledSlots
    }

    /// Connects the socket.
    func open(endpoint: Endpoint, timeout: Duration) async throws {
        let connection = try await Connection.connect(to: endpoint, on: loop, timeout: timeout, delegate: self)
        state.withLock { $0.connection = connection }
    }

    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// The socket's write statistics (for tests and diagnostics).
    var writeStatistics: (calls: Int, bytes: Int) {
        state.withLock { $0.connection }?.writeStatistics ?? (0, 0)
    }

    /// Commands waiting for replies, cancelled ones included.
    var pendingCount: Int { state.withLock { $0.pendingCount } }

    /// How many commands were written on this connection (for tests and diagnostics).
    var commandsWritten: Int { writtenCommands.load(ordering: .relaxed) }

    /// Closes the connection; commands in flight fail with `reason`.
    func close(reason: SessionError) {
        let connection = state.withLock { state -> Connection? in
            if state.closeReason == nil { state.closeReason = reason }
            return state.connection
        }
        if let connection {
            connection.close()
        } else {
            failAll(reason)
        }
    }

    /// Writes one command (appended by `encode`) and waits for its reply.
    func send(expecting expectation: ReplyExpectation, deadline: Deadline, encode: (inout [UInt8]) -> Void) async throws -> MemcachedReply {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<MemcachedReply, any Error>) in
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
                        return SessionError(.storeUnavailable, "the connection to memcached at \(address) is not open yet")
                    }
                    guard state.pendingCount < maxPending else {
                        return SessionError(.storeUnavailable, "memcached at \(address) has \(state.pendingCount) commands waiting for replies, the configured maximum; the server is too slow for this load (raise maxPendingCommandsPerConnection or connectionsPerServer, or reduce the load)")
                    }
                    // The write and the queue slot are taken under one lock, so the queue order
                    // is the order of the bytes on the wire.
                    guard connection.write(encode) else {
                        return state.closeReason ?? SessionError(.storeUnavailable, "the connection to memcached at \(address) is closed; the client reconnects on the next call")
                    }
                    state.queue.append(Pending(id: id, expectation: expectation))
                    writtenCommands.add(1, ordering: .relaxed)
                    let timer = loop.schedule(at: deadline) { [weak self] in self?.expire(id) }
                    state.waiters[id] = Waiter(continuation: continuation, timer: timer, readEpoch: state.readEpoch)
                    return nil
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            self.abandon(id, with: CancellationError())
        }
    }

    /// Resumes a waiting caller with `error` but keeps its slot: its reply is read and dropped.
    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
            if freesCancelledSlots, let index = state.queue[state.head...].firstIndex(where: { $0.id == id }) {
                state.queue.remove(at: index)
            }
            return waiter
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// A command's deadline passed. If nothing at all was read since it was sent, the server is
    /// stalled: the connection is closed so that the client reconnects.
    private func expire(_ id: UInt64) {
        let (waiter, stalled) = state.withLock { state -> (Waiter?, Bool) in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return (nil, false) }
            if freesCancelledSlots, let index = state.queue[state.head...].firstIndex(where: { $0.id == id }) {
                state.queue.remove(at: index)
            }
            return (waiter, waiter.readEpoch == state.readEpoch)
        }
        guard let waiter else { return }
        waiter.continuation.resume(throwing: SessionError(.timeout, "memcached at \(address) did not answer within the command timeout (\(Int(commandTimeout.milliseconds)) ms); the server may be overloaded or unreachable. Raise commandTimeout if this is expected"))
        if stalled {
            close(reason: SessionError(.timeout, "memcached at \(address) sent nothing for a whole command timeout, so the connection was closed as stalled; a command sent on it may still be run when the server wakes up, so it is not sent again (an error of this kind is not retried); the client reconnects on the next call"))
        }
    }

    private func failAll(_ reason: SessionError) {
        let (waiters, error) = state.withLock { state -> ([Waiter], SessionError) in
            if state.closed == nil { state.closed = state.closeReason ?? reason }
            closedFlag.store(true, ordering: .releasing)
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            state.queue.removeAll()
            state.head = 0
            return (waiters, state.closed ?? reason)
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: error)
        }
    }

    // MARK: ConnectionDelegate (event loop thread)

    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {
        received(bytes)
    }

    /// Handles bytes read from the socket (the delegate method; tests call it directly to
    /// drive several reads while the loop is held).
    ///
    /// Replies are parsed one at a time, each knowing the keys its request may be answered
    /// with, and handed to their callers. The first reply that cannot be right (malformed, of
    /// the wrong kind or key, or unasked for) ends the connection at once, under the state
    /// lock: it is marked closed, every waiter fails, and later bytes — even from the same
    /// burst of reads — are ignored, so that no reply after the break can reach anyone.
    func received(_ bytes: UnsafeRawBufferPointer) {
        guard !closedFlag.load(ordering: .acquiring) else { return }
        var ready: [(Waiter, MemcachedReply)] = []
        var failure: SessionError?
        var failed: [Waiter] = []
        var socket: Connection?
        parser.withLock { parser in
            var next = state.withLock { state -> NextReply in
                guard state.closed == nil else { return .closed }
                state.readEpoch &+= 1
                return .open(expectedKeys(state))
            }
            parser.append(bytes)
            while case .open(let keys) = next {
                let reply: MemcachedReply
                do {
                    guard let parsed = try parser.next(expectingKeys: keys) else { return }
                    reply = parsed
                } catch {
                    let error = (error as? SessionError) ?? SessionError(.protocolError, "memcached at \(address) sent an unreadable reply: \(error)")
                    failure = error
                    (failed, socket) = state.withLock { state in shutDown(&state, error) }
                    return
                }
                next = state.withLock { state -> NextReply in
                    guard state.closed == nil else { return .closed }
                    guard let pending = state.popFirst() else {
                        let error = SessionError(.protocolError, "memcached at \(address) sent a reply nobody asked for; the connection was closed to stay in step")
                        failure = error
                        (failed, socket) = shutDown(&state, error)
                        return .closed
                    }
                    if !freesCancelledSlots && !pending.expectation.accepts(reply) {
                        let error = SessionError(.protocolError, "memcached at \(address) sent a reply that does not match its request (wrong kind or key); the connection was closed so that no reply can reach the wrong caller")
                        failure = error
                        // The mismatched request's waiter is still in `waiters` and fails with the rest.
                        (failed, socket) = shutDown(&state, error)
                        return .closed
                    }
                    if let waiter = state.waiters.removeValue(forKey: pending.id) {
                        ready.append((waiter, reply))
                    }
                    return .open(expectedKeys(state))
                }
            }
        }
        for (waiter, reply) in ready {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: reply)
        }
        if let failure {
            for waiter in failed {
                waiter.timer?.cancel()
                waiter.continuation.resume(throwing: failure)
            }
            socket?.close()
        }
    }

    private enum NextReply {
        /// Parse on; the next reply's items may only carry these keys (`nil`: unchecked).
        case open([[UInt8]]?)
        case closed
    }

    /// The keys the oldest waiting request may be answered with: a get's keys, none for any
    /// other command (a VALUE block there is already wrong), none when nothing is waiting.
    private func expectedKeys(_ state: State) -> [[UInt8]]? {
        if freesCancelledSlots { return nil }
        guard state.head < state.queue.count else { return [] }
        if case .items(let keys) = state.queue[state.head].expectation { return keys }
        return []
    }

    /// Marks the connection closed with `error` at once (under the state lock) and takes every
    /// waiter, for the caller to fail outside the lock, and the socket, for it to close.
    private func shutDown(_ state: inout State, _ error: SessionError) -> ([Waiter], Connection?) {
        if state.closeReason == nil { state.closeReason = error }
        if state.closed == nil { state.closed = error }
        closedFlag.store(true, ordering: .releasing)
        let waiters = Array(state.waiters.values)
        state.waiters.removeAll()
        state.queue.removeAll()
        state.head = 0
        return (waiters, state.connection)
    }

    func connection(_ connection: Connection, didCloseWith error: NetworkError?) {
        let detail = error.map { " (\($0.message))" } ?? ""
        failAll(SessionError(.storeUnavailable, "the connection to memcached at \(address) was lost\(detail) before the reply arrived; the command may or may not have run. The client reconnects on the next call"))
    }
}
