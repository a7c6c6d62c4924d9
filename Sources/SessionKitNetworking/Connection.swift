#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Receives a ``Connection``'s events. Both methods are called on the connection's event loop
/// thread and must not block.
@_spi(Engine) public protocol ConnectionDelegate: AnyObject, Sendable {
    /// Bytes arrived. The buffer is only valid during the call.
    func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer)
    /// The connection closed; `error` is `nil` when it was closed locally with ``Connection/close()``.
    /// Called exactly once, after which the connection holds no reference to the delegate.
    func connection(_ connection: Connection, didCloseWith error: NetworkError?)
}

/// A ``ConnectionDelegate`` that forwards the events to closures.
@_spi(Engine) public final class ConnectionEvents: ConnectionDelegate {
    private let read: @Sendable (UnsafeRawBufferPointer) -> Void
    private let close: @Sendable (NetworkError?) -> Void

    @_spi(Engine) public init(read: @escaping @Sendable (UnsafeRawBufferPointer) -> Void, close: @escaping @Sendable (NetworkError?) -> Void) {
        self.read = read
        self.close = close
    }

    @_spi(Engine) public func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) { read(bytes) }
    @_spi(Engine) public func connection(_ connection: Connection, didCloseWith error: NetworkError?) { close(error) }
}

/// A non-blocking TCP or Unix-domain stream socket driven by an ``EventLoop``, with buffered
/// reads and batched writes, optionally through a ``ConnectionTransport`` (TLS).
///
/// Without a transport (plain TCP and Unix sockets) the bytes go straight between the socket and
/// the delegate. With one, the connect completes only after the transport's handshake, within
/// the same connect deadline; reads reach the delegate as the transport's plaintext, and writes
/// go through the transport on the loop thread.
///
/// Writers from any thread append to one outbound buffer with ``write(_:)``; the loop sends
/// everything appended before it gets to run in as few `send(2)` calls as possible, which is what
/// makes auto-pipelining work. TCP connections use `TCP_NODELAY` and keepalive.
@_spi(Engine) public final class Connection: IOHandler, @unchecked Sendable {
    // @unchecked: the stored `var`s below the Mutex are confined to the loop thread.

    /// The loop that drives this connection.
    @_spi(Engine) public let loop: EventLoop
    /// The server this connection talks to.
    @_spi(Engine) public let endpoint: Endpoint
    // The state below is internal, not private, only so that Connection+Transport.swift (the
    // secured path) reaches it; everything but `outbound` is confined to the loop thread.
    let fileDescriptor: Int32
    let address: SocketAddress

    struct Outbound {
        var buffer: [UInt8] = []
        var flushScheduled = false
        var closed = false
        var closeError: NetworkError?
    }
    let outbound = Mutex(Outbound())
    private let writeCalls = Atomic<Int>(0)
    private let bytesWritten = Atomic<Int>(0)

    /// How many `send(2)` calls the connection made and how many bytes they wrote; auto-pipelining
    /// shows as far fewer calls than requests.
    @_spi(Engine) public var writeStatistics: (calls: Int, bytes: Int) {
        (writeCalls.load(ordering: .relaxed), bytesWritten.load(ordering: .relaxed))
    }

    enum Phase { case idle, connecting, handshaking, open, closed }
    var phase: Phase = .idle
    var writeQueue: [UInt8] = []
    var writeOffset = 0
    var wantWrite = false
    var delegate: (any ConnectionDelegate)?
    var connectContinuation: CheckedContinuation<Void, any Error>?
    var connectTimer: EventLoop.Timer?
    /// The byte filter (TLS), or `nil` for plain sockets; loop thread only.
    let transport: (any ConnectionTransport)?
    /// Plaintext taken from the outbound buffer, on its way through the transport.
    var plaintextOut: [UInt8] = []
    /// Plaintext the transport decoded, on its way to the delegate.
    var plaintextIn: [UInt8] = []

    private init(loop: EventLoop, endpoint: Endpoint, address: SocketAddress, transport: (any ConnectionTransport)?,
                 delegate: any ConnectionDelegate) throws {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.family, type, 0)
        guard fd >= 0 else { throw NetworkError.system("cannot create a socket for \(address.display)", errno: errno) }
        self.fileDescriptor = fd
        self.loop = loop
        self.endpoint = endpoint
        self.address = address
        self.delegate = delegate
        self.transport = transport
        if address.family != AF_UNIX {
            setOption(Int32(IPPROTO_TCP), Int32(TCP_NODELAY), 1)
            setOption(SOL_SOCKET, SO_KEEPALIVE, 1)
            setOption(Int32(IPPROTO_TCP), Int32(TCP_KEEPIDLE), 60)
            setOption(Int32(IPPROTO_TCP), Int32(TCP_KEEPINTVL), 10)
            setOption(Int32(IPPROTO_TCP), Int32(TCP_KEEPCNT), 3)
        }
    }

    deinit {
        if phase != .closed { _ = Glibc.close(fileDescriptor) }
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(fileDescriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Opens a connection to `endpoint`, trying each resolved address in turn until `timeout`.
    ///
    /// - Parameters:
    ///   - endpoint: the server.
    ///   - loop: the event loop that will drive the connection.
    ///   - timeout: the deadline for resolution, connect and the transport's handshake together.
    ///   - transport: makes the connection's byte filter (TLS); `nil` for a plain socket.
    ///   - serverDescription: the server, for the transport's messages ("Redis at host:port").
    ///   - delegate: receives the bytes read (plaintext, with a transport) and the close event.
    /// - Throws: ``NetworkError`` (`.connectionRefused`, `.timeout`, `.resolutionFailed`,
    ///   `.tlsFailed`...), or `CancellationError` when the task is cancelled.
    @_spi(Engine) public static func connect(
        to endpoint: Endpoint,
        on loop: EventLoop = .shared,
        timeout: Duration,
        transport: (any TransportFactory)? = nil,
        serverDescription: String? = nil,
        delegate: any ConnectionDelegate
    ) async throws -> Connection {
        let deadline = Deadline.after(timeout)
        let addresses = try await Resolver.resolve(endpoint)
        var lastError: any Error = NetworkError(.connectFailed, "no address to connect to for \(endpoint)")
        for address in addresses {
            try Task.checkCancellation()
            if deadline.hasPassed { break }
            let filter = try transport?.makeTransport(for: endpoint, serverDescription: serverDescription ?? "the server at \(endpoint)")
            let connection = try Connection(loop: loop, endpoint: endpoint, address: address, transport: filter, delegate: delegate)
            do {
                try await withTaskCancellationHandler {
                    try await connection.start(deadline: deadline)
                } onCancel: {
                    connection.close()
                }
                return connection
            } catch {
                lastError = error
            }
        }
        try Task.checkCancellation()
        throw lastError
    }

    private func start(deadline: Deadline) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute {
                self.startOnLoop(deadline: deadline, continuation: continuation)
            }
        }
    }

    private func startOnLoop(deadline: Deadline, continuation: CheckedContinuation<Void, any Error>) {
        guard phase == .idle else {
            continuation.resume(throwing: NetworkError(.connectionClosed, "connection to \(address.display) was closed before it opened"))
            return
        }
        connectContinuation = continuation
        var storage = address.storage
        let rc = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fileDescriptor, $0, address.length) }
        }
        if rc == 0 {
            phase = .connecting
            loop.register(self, read: false, write: false)
            if transport != nil { armConnectTimer(deadline) }
            opened()
            return
        }
        let err = errno
        guard err == EINPROGRESS || err == EINTR else {
            phase = .connecting
            closeNow(NetworkError.system("cannot connect to \(address.display)", errno: err, default: .connectFailed))
            return
        }
        phase = .connecting
        loop.register(self, read: false, write: true)
        armConnectTimer(deadline)
    }

    private func armConnectTimer(_ deadline: Deadline) {
        connectTimer = loop.schedule(at: deadline) { [weak self] in
            guard let self else { return }
            switch self.phase {
            case .connecting:
                self.closeNow(NetworkError(.timeout, "connecting to \(self.address.display) took longer than the connect timeout"))
            case .handshaking:
                self.closeNow(self.transport?.handshakeTimedOut() ?? NetworkError(.timeout, "the handshake with \(self.address.display) took longer than the connect timeout"))
            case .idle, .open, .closed:
                break
            }
        }
    }

    private func finishConnect() {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fileDescriptor, SOL_SOCKET, SO_ERROR, &error, &length)
        if error == 0 {
            opened()
        } else {
            closeNow(NetworkError.system("cannot connect to \(address.display)", errno: error, default: .connectFailed))
        }
    }

    private func opened() {
        if transport != nil {
            // The connect deadline, still armed, now bounds the handshake.
            phase = .handshaking
            wantWrite = false
            loop.setInterest(self, read: true, write: false)
            advanceHandshake(received: UnsafeRawBufferPointer(start: nil, count: 0))
            return
        }
        phase = .open
        connectTimer?.cancel()
        connectTimer = nil
        loop.setInterest(self, read: true, write: false)
        let continuation = connectContinuation
        connectContinuation = nil
        continuation?.resume()
        flush()
    }

    /// Why the connection closed, when the socket or its transport failed; `nil` while open or
    /// after a local close.
    @_spi(Engine) public var closeError: NetworkError? { outbound.withLock { $0.closeError } }

    /// Whether the connection is still open (it may close at any moment).
    @_spi(Engine) public var isOpen: Bool { outbound.withLock { !$0.closed } }

    /// Appends bytes to the outbound buffer with `body` and schedules a flush; safe from any thread.
    ///
    /// Everything appended before the loop runs the flush goes out together.
    /// - Returns: `false` (and does not call `body`) when the connection is closed.
    @discardableResult
    @_spi(Engine) public func write(_ body: (inout [UInt8]) -> Void) -> Bool {
        let schedule: Bool? = outbound.withLock { state in
            if state.closed { return nil }
            body(&state.buffer)
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        if schedule == true {
            loop.execute { self.flush() }
        }
        return schedule != nil
    }

    /// Closes the connection; the delegate hears of it on the loop thread. Safe from any thread.
    @_spi(Engine) public func close() {
        loop.execute { self.closeNow(nil) }
    }

    /// Closes the connection with `error` reported to the delegate. Safe from any thread.
    @_spi(Engine) public func close(reportingError error: NetworkError) {
        loop.execute { self.closeNow(error) }
    }

    // MARK: Loop thread

    func flush() {
        guard phase == .open else { return }
        if let transport {
            flushSecured(transport)
            return
        }
        outbound.withLock { state in
            state.flushScheduled = false
            if writeOffset == writeQueue.count {
                writeQueue.removeAll(keepingCapacity: true)
                writeOffset = 0
                swap(&writeQueue, &state.buffer)
            } else {
                writeQueue.append(contentsOf: state.buffer)
                state.buffer.removeAll(keepingCapacity: true)
            }
        }
        writePending()
    }

    func writePending() {
        while writeOffset < writeQueue.count {
            let written = writeQueue.withUnsafeBytes { raw in
                send(fileDescriptor, raw.baseAddress! + writeOffset, raw.count - writeOffset, Int32(MSG_NOSIGNAL))
            }
            writeCalls.add(1, ordering: .relaxed)
            if written > 0 {
                bytesWritten.add(written, ordering: .relaxed)
                writeOffset += written
                continue
            }
            let err = errno
            if written < 0 && err == EINTR { continue }
            if written < 0 && (err == EAGAIN || err == EWOULDBLOCK) {
                if !wantWrite {
                    wantWrite = true
                    loop.setInterest(self, read: true, write: true)
                }
                return
            }
            closeNow(explained(NetworkError.system("write to \(address.display) failed", errno: err), errno: err))
            return
        }
        if writeQueue.capacity > 1 << 20 {
            writeQueue = []
        } else {
            writeQueue.removeAll(keepingCapacity: true)
        }
        writeOffset = 0
        if wantWrite {
            wantWrite = false
            loop.setInterest(self, read: true, write: false)
        }
    }

    func ioWritable() {
        switch phase {
        case .connecting: finishConnect()
        case .open, .handshaking: writePending()
        case .idle, .closed: break
        }
    }

    func ioReadable() {
        guard phase == .open else {
            if phase == .connecting { finishConnect() } else if phase == .handshaking { readSecured() }
            return
        }
        if transport != nil {
            readSecured()
            return
        }
        let buffer = loop.readBuffer
        for _ in 0..<4 {
            let count = read(fileDescriptor, buffer.baseAddress, buffer.count)
            if count > 0 {
                delegate?.connection(self, didRead: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                guard phase == .open else { return }
                if count < buffer.count { return }
                continue
            }
            if count == 0 {
                closeNow(NetworkError(.connectionClosed, "\(address.display) closed the connection"))
                return
            }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return }
            closeNow(NetworkError.system("read from \(address.display) failed", errno: err))
            return
        }
    }

    func ioHangup() {
        switch phase {
        case .connecting:
            finishConnect()
        case .handshaking:
            closeNow(transport?.closedByPeer() ?? NetworkError(.connectionClosed, "\(address.display) closed the connection"))
        case .open:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fileDescriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                closeNow(NetworkError.system("connection to \(address.display) failed", errno: error))
            } else {
                closeNow(NetworkError(.connectionClosed, "\(address.display) closed the connection"))
            }
        case .idle, .closed:
            break
        }
    }

    func closeNow(_ error: NetworkError?) {
        guard phase != .closed else { return }
        if error == nil, phase == .open, let transport { sayGoodbye(transport) }
        let wasRegistered = phase == .connecting || phase == .handshaking || phase == .open
        phase = .closed
        if wasRegistered { loop.deregister(self) }
        connectTimer?.cancel()
        connectTimer = nil
        outbound.withLock { state in
            state.closed = true
            state.closeError = error
            state.buffer = []
        }
        _ = Glibc.close(fileDescriptor)
        writeQueue = []
        let delegate = self.delegate
        self.delegate = nil
        if let continuation = connectContinuation {
            connectContinuation = nil
            continuation.resume(throwing: error ?? NetworkError(.connectFailed, "connecting to \(address.display) was cancelled"))
        } else {
            delegate?.connection(self, didCloseWith: error)
        }
    }
}
