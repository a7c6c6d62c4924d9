import Synchronization

/// One multiplexed connection to a server, for any protocol (``ConnectionCodec``): requests
/// from many tasks are appended to one outbound buffer (auto-pipelining) and their replies are
/// matched first-in, first-out.
///
/// The invariant that keeps replies with their callers: every request written gets exactly one
/// entry in the reply queue per reply it will get, and an entry leaves the queue only when its
/// reply is parsed (or when the connection dies). A cancelled or timed-out caller is resumed at
/// once, but its entry stays and its reply is read and dropped. Each reply is checked against
/// what its request expects (``ConnectionCodec/accepts(_:for:)``); the first reply that cannot be
/// right (malformed, mismatched, unasked for, or a push that shows a reply will never come)
/// ends the connection at once, under the state lock: every waiter fails and later bytes, even
/// from the same burst of reads, are ignored.
///
/// Deadlines: the pending requests' deadlines sit in a queue ordered by deadline and one event
/// loop timer per connection fires for the earliest (see PipelinedConnection+Deadlines.swift).
/// Errors are ``NetworkError``s naming the server (``ServerLabel``); the store turns them into
/// its own errors.
///
/// The hot paths are `@inlinable`, so that each store's module compiles them specialized for
/// its codec instead of calling generic code through witness tables.
@_spi(Engine) public final class PipelinedConnection<Codec: ConnectionCodec>: Sendable {
    @usableFromInline
    struct Pending: Sendable {
        @usableFromInline let id: UInt64
        @usableFromInline let expectation: Codec.Expectation
        @usableFromInline let deadline: UInt64

        @inlinable
        init(id: UInt64, expectation: Codec.Expectation, deadline: UInt64) {
            self.id = id
            self.expectation = expectation
            self.deadline = deadline
        }
    }

    @usableFromInline
    struct Waiter: Sendable {
        @usableFromInline let continuation: CheckedContinuation<Codec.Reply, any Error>
        /// `State.readEpoch` when the request was written.
        @usableFromInline let readEpoch: UInt64

        @inlinable
        init(continuation: CheckedContinuation<Codec.Reply, any Error>, readEpoch: UInt64) {
            self.continuation = continuation
            self.readEpoch = readEpoch
        }
    }

    @usableFromInline
    struct State {
        @usableFromInline var queue: RequestQueue<Pending>
        @usableFromInline var waiters: [UInt64: Waiter]
        @usableFromInline var deadlines: DeadlineQueue
        /// The deadline the armed loop timer fires at, if one is armed.
        @usableFromInline var timerDeadline: UInt64?
        @usableFromInline var nextID: UInt64
        /// Set once the connection takes no more requests.
        @usableFromInline var closed: NetworkError?
        /// Why it was closed locally, for the waiters.
        @usableFromInline var closeReason: NetworkError?
        /// Counts reads, so that a timeout can tell whether anything arrived since a request went out.
        @usableFromInline var readEpoch: UInt64
        @usableFromInline var connection: Connection?
        /// Whether the connection runs through a transport (TLS).
        @usableFromInline var secured: Bool

        @inlinable
        init() {
            secured = false
            queue = RequestQueue()
            waiters = [:]
            deadlines = DeadlineQueue()
            timerDeadline = nil
            nextID = 0
            closed = nil
            closeReason = nil
            readEpoch = 0
            connection = nil
        }
    }

    @usableFromInline let state: Mutex<State>
    /// The reply parser; used by whoever handles a read (the loop thread, or a test).
    @usableFromInline let decoder: Mutex<Codec.Decoder>
    @usableFromInline let closedFlag = Atomic<Bool>(false)
    @usableFromInline let writtenCommands = Atomic<Int>(0)
    @usableFromInline let outOfBand = Atomic<Int>(0)

    /// The protocol.
    @_spi(Engine) public let codec: Codec
    /// The server, for messages.
    @_spi(Engine) public let label: ServerLabel
    /// The loop that drives the socket and fires the deadlines.
    @_spi(Engine) public let loop: EventLoop
    /// The timeout callers are told about when their deadline passes.
    @_spi(Engine) public let commandTimeout: Duration
    /// The most requests waiting for replies before new ones are refused.
    @_spi(Engine) public let maxPending: Int
    /// Injected faults (``ConnectionFaults/none`` outside tests).
    @_spi(Engine) public let faults: ConnectionFaults

    /// The server's address, as in ``label``.
    @_spi(Engine) public var address: String { label.address }

    @_spi(Engine) public init(codec: Codec, label: ServerLabel, loop: EventLoop, commandTimeout: Duration, maxPending: Int, faults: ConnectionFaults = .none) {
        self.codec = codec
        self.label = label
        self.loop = loop
        self.commandTimeout = commandTimeout
        self.maxPending = maxPending
        self.faults = faults
        self.state = Mutex(State())
        self.decoder = Mutex(codec.makeDecoder())
    }

    /// Connects the socket and completes the transport's handshake (TLS), if any, within
    /// `timeout`; the protocol's own handshake is up to the caller.
    ///
    /// - Parameters:
    ///   - endpoint: the server.
    ///   - timeout: the deadline for connect and the transport's handshake together.
    ///   - transport: makes the connection's byte filter (TLS); `nil` for plain TCP or Unix sockets.
    /// - Throws: ``NetworkError`` "cannot connect to <server>: <why>; <what to check>" (`.timeout`,
    ///   `.connectFailed` or `.tlsFailed`), or `CancellationError`; the connection is then closed.
    @inlinable
    @_spi(Engine) public func open(endpoint: Endpoint, timeout: Duration, transport: (any TransportFactory)? = nil) async throws {
        // The socket's events reach this connection through closures formed here, in the
        // store's specialized code.
        let events = ConnectionEvents(read: { bytes in self.received(bytes) }, close: { error in self.closed(with: error) })
        state.withLock { $0.secured = transport != nil }
        do {
            let connection = try await Connection.connect(to: endpoint, on: loop, timeout: timeout, transport: transport,
                                                          serverDescription: label.description, delegate: events)
            state.withLock { $0.connection = connection }
        } catch let error as NetworkError where error.code == .tlsFailed {
            let failure = NetworkError(.tlsFailed, "cannot connect to \(label) over TLS: \(error.message)")
            close(reason: failure)
            throw failure
        } catch let error as NetworkError {
            let timedOut = error.code == .timeout
            let failure = NetworkError(timedOut ? .timeout : .connectFailed, "cannot connect to \(label): \(error.message); \(timedOut ? "check that the host is reachable, or raise connectTimeout" : label.setupHint)")
            close(reason: failure)
            throw failure
        } catch {
            close(reason: NetworkError(.connectFailed, "connecting to \(label) was cancelled"))
            throw error
        }
    }

    /// Whether the connection takes no more requests.
    @_spi(Engine) public var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// The socket's write statistics (for tests and diagnostics).
    @_spi(Engine) public var writeStatistics: (calls: Int, bytes: Int) {
        state.withLock { $0.connection }?.writeStatistics ?? (0, 0)
    }

    /// Requests waiting for replies, cancelled ones whose reply is still due included.
    @_spi(Engine) public var pendingCount: Int { state.withLock { $0.queue.count } }

    /// Requests written on this connection, each prefix command counted (for tests and diagnostics).
    @_spi(Engine) public var commandsWritten: Int { writtenCommands.load(ordering: .relaxed) }

    /// Out-of-band frames (RESP3 pushes) read and skipped.
    @_spi(Engine) public var outOfBandFramesSkipped: Int { outOfBand.load(ordering: .relaxed) }

    /// Closes the connection; requests in flight fail with `reason`. From now on it takes no
    /// new request: they go to a fresh connection.
    @_spi(Engine) public func close(reason: NetworkError) {
        let connection = state.withLock { state -> Connection? in
            markClosed(&state, reason)
            return state.connection
        }
        if let connection {
            connection.close()
        } else {
            failAll(reason)
        }
    }

    @inlinable
    func markClosed(_ state: inout State, _ reason: NetworkError) {
        if state.closeReason == nil { state.closeReason = reason }
        if state.closed == nil { state.closed = reason }
        closedFlag.store(true, ordering: .releasing)
    }

    /// Writes `request` and waits for its reply.
    ///
    /// - Throws: ``NetworkError``: `.timeout` when `deadline` passes, `.connectionClosed` when the
    ///   connection is or gets closed, `.overloaded` when too many requests wait, `.protocolError`
    ///   when the stream broke; `CancellationError` when the task is cancelled (the reply is
    ///   still read and dropped).
    @inlinable
    @_spi(Engine) public func send(_ request: Codec.Request, deadline: Deadline) async throws -> Codec.Reply {
        let replies = UInt64(max(codec.replyCount(of: request), 1))
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= replies
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Codec.Reply, any Error>) in
                let failure = state.withLock { state in
                    enqueue(request, id: id, replies: replies, deadline: deadline, continuation: continuation, &state)
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            self.abandon(id)
        }
    }

    /// Writes the request and takes its queue entries under one lock, so that the queue order is
    /// the order of the bytes on the wire. Returns the error to fail with instead.
    @inlinable
    func enqueue(_ request: Codec.Request, id: UInt64, replies: UInt64, deadline: Deadline,
                         continuation: CheckedContinuation<Codec.Reply, any Error>, _ state: inout State) -> (any Error)? {
        if let closed = state.closed {
            // Never written: a request refused by a closed connection may be sent again on a
            // new one, whatever ended this one.
            return closed.code == .timeout
                ? NetworkError(.connectionClosed, "the connection to \(label) was closed as stalled; the client reconnects on the next call")
                : closed
        }
        if Task.isCancelled { return CancellationError() }
        guard let connection = state.connection else {
            return NetworkError(.connectionClosed, "the connection to \(label) is not open yet")
        }
        guard state.queue.count < maxPending else {
            return NetworkError(.overloaded, "\(label) has \(state.queue.count) commands waiting for replies, the configured maximum; the server is too slow for this load (raise maxPendingCommandsPerConnection or \(label.connectionSetting), or reduce the load)")
        }
        var expectation: Codec.Expectation?
        let written = connection.write { buffer in expectation = codec.encode(request, into: &buffer) }
        guard written, let expectation else {
            // The socket closed before its close reached this connection: say why it did.
            let lost = connection.closeError.map {
                NetworkError(.connectionClosed, "the connection to \(label) was lost (\($0.message)); the client reconnects on the next call")
            }
            return state.closeReason ?? lost ?? NetworkError(.connectionClosed, "the connection to \(label) is closed; the client reconnects on the next call")
        }
        let due = deadline.uptimeNanoseconds
        var entry = id &- (replies &- 1)
        while entry <= id {
            state.queue.append(Pending(id: entry, expectation: expectation, deadline: due))
            entry &+= 1
        }
        writtenCommands.add(Int(replies), ordering: .relaxed)
        state.waiters[id] = Waiter(continuation: continuation, readEpoch: state.readEpoch)
        state.deadlines.insert(deadline: due, id: id)
        armTimer(&state)
        return nil
    }

    /// Resumes a waiting caller with `CancellationError` but keeps its entry: its reply will be
    /// read and dropped.
    @inlinable
    func abandon(_ id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
            if faults.freesCancelledSlots { state.queue.removeFirst { $0.id == id } }
            return waiter
        }
        waiter?.continuation.resume(throwing: CancellationError())
    }

    /// Fails every waiter with the close reason (or `reason`) and empties the queue.
    @usableFromInline
    func failAll(_ reason: NetworkError) {
        let (waiters, error) = state.withLock { state -> ([Waiter], NetworkError) in
            if state.closed == nil { state.closed = state.closeReason ?? reason }
            closedFlag.store(true, ordering: .releasing)
            return (takeWaiters(&state), state.closed ?? reason)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
    }

    @inlinable
    func takeWaiters(_ state: inout State) -> [Waiter] {
        let waiters = Array(state.waiters.values)
        state.waiters.removeAll()
        state.queue.removeAll()
        state.deadlines.removeAll()
        return waiters
    }

    // MARK: Socket events (event loop thread)

    /// Handles bytes read from the socket (tests call it directly to drive several reads while
    /// the loop is held).
    ///
    /// The bytes are decoded first, under the decoder's lock only, so that writers are not held
    /// up by parsing; then every frame is matched under one state lock: the first frame that
    /// cannot be right marks the connection closed before anything after it is looked at.
    @inlinable
    @_spi(Engine) public func received(_ bytes: UnsafeRawBufferPointer) {
        guard !closedFlag.load(ordering: .acquiring) else { return }
        var frames: [DecodedFrame<Codec.Reply>] = []
        var decodeFailure: NetworkError?
        decoder.withLock { decoder in
            decoder.append(bytes)
            // What the requests whose replies are due expect, fetched a few at a time for
            // codecs whose parser needs it; entries are only ever added behind them meanwhile.
            var dues: [Codec.Expectation] = []
            var dueIndex = 0
            var fetched = 0
            while true {
                var due: Codec.Expectation?
                if codec.decodesWithExpectation {
                    if dueIndex == dues.count {
                        dues = state.withLock { $0.queue.elements(from: fetched, count: 64).map(\.expectation) }
                        fetched += dues.count
                        dueIndex = 0
                    }
                    due = dueIndex < dues.count ? dues[dueIndex] : nil
                }
                do {
                    guard let frame = try decoder.next(due: due) else { break }
                    if case .reply = frame { dueIndex += 1 }
                    frames.append(frame)
                } catch {
                    decodeFailure = (error as? NetworkError) ?? NetworkError(.protocolError, "\(label) sent an unreadable reply: \(error)")
                    break
                }
            }
        }
        var ready: [(Waiter, Codec.Reply)] = []
        ready.reserveCapacity(frames.count)
        var failure: NetworkError?
        var failed: [Waiter] = []
        var socket: Connection?
        state.withLock { state in
            guard state.closed == nil else { return }
            state.readEpoch &+= 1
            for frame in frames {
                switch frame {
                case .push(let outOfStep):
                    outOfBand.add(1, ordering: .relaxed)
                    if let outOfStep { failure = NetworkError(.protocolError, "\(label) \(outOfStep)") }
                case .reply(let reply):
                    guard let pending = state.queue.popFirst() else {
                        failure = NetworkError(.protocolError, "\(label) sent a reply nobody asked for; the connection was closed to stay in step")
                        break
                    }
                    guard faults.freesCancelledSlots || codec.accepts(reply, for: pending.expectation) else {
                        // The mismatched request's waiter is still in `waiters` and fails with the rest.
                        failure = NetworkError(.protocolError, "\(label) sent a reply that does not match its request; the connection was closed so that no reply can reach the wrong caller")
                        break
                    }
                    if let waiter = state.waiters.removeValue(forKey: pending.id) {
                        ready.append((waiter, reply))
                    }
                }
                if failure != nil { break }
            }
            if failure == nil { failure = decodeFailure }
            if let failure {
                markClosed(&state, failure)
                failed = takeWaiters(&state)
                socket = state.connection
                return
            }
            // Drop the deadlines of requests that are done; the rest stay ordered.
            while let first = state.deadlines.first, state.waiters[first.id] == nil {
                state.deadlines.removeFirst()
            }
        }
        for (waiter, reply) in ready {
            waiter.continuation.resume(returning: reply)
        }
        if let failure {
            for waiter in failed { waiter.continuation.resume(throwing: failure) }
            socket?.close()
        }
    }

    /// The socket closed; `error` is `nil` when it was closed locally.
    @usableFromInline
    func closed(with error: NetworkError?) {
        let detail = error.map { " (\($0.message))" } ?? ""
        let (neverAnswered, secured) = state.withLock { ($0.readEpoch == 0, $0.secured) }
        if error != nil, neverAnswered, !secured, let tlsHint = label.tlsHint {
            // A TLS port closes a plaintext connection without a word.
            failAll(NetworkError(.connectionClosed, "the connection to \(label) was lost\(detail) before any reply; if that port expects TLS, \(tlsHint)"))
            return
        }
        failAll(NetworkError(.connectionClosed, "the connection to \(label) was lost\(detail) before the reply arrived; the command may or may not have run. The client reconnects on the next call"))
    }
}
