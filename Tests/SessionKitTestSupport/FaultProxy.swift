import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 in front of a real server that injects faults on command: reset
/// every connection, reset one mid-reply, stall, or refuse new connections.
///
/// It runs on its own threads with blocking `poll(2)`, never on Swift's cooperative pool.
///
/// ```swift
/// let proxy = try FaultProxy(upstreamPort: server.port)
/// defer { proxy.stop() }
/// proxy.resetMidReply()          // the next server-to-client chunk is cut in half, then RST
/// ```
public final class FaultProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    /// The port of the real server.
    public let upstreamPort: Int

    private struct State {
        var stopped = false
        var stalled = false
        var refusing = false
        var resetGeneration = 0
        var pendingMidReplyResets = 0
        var accepted = 0
        var midReplyResetsDone = 0
        /// Connections being forwarded now, and those cut by ``resetAllConnections()``.
        var open = 0
        var connectionsReset = 0
        var forwardedFromServer = 0
        var forwardedFromClient = 0
        /// Client byte counts at which every open connection is reset (see
        /// ``resetAllConnections(whenClientBytesReach:)``), ascending, and how many such resets happened.
        var resetsAtClientBytes: [Int] = []
        var progressResetsDone = 0
        /// Connections with a serial number below this one are held (see ``holdOpenConnections()``).
        var holdBelow = 0
        var holding = false
        var heldDelivered = 0
        /// Whether the proxy should not listen at all (see ``setDown(_:)``).
        var down = false
        /// Whether the listening socket is open now.
        var listening = true
    }
    private let state = Mutex(State())
    /// Broadcast after every change of the faults, for the forwarding threads that wait for a
    /// stall or a hold to end (a gate, not a pause).
    private let changed = NSCondition()
    private let listenFD: Int32

    /// Starts listening on a free port and forwarding to `upstreamPort` on 127.0.0.1.
    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("FaultProxy: socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Loopback.bind(fd, port: 0), listen(fd, 128) == 0, let port = Loopback.localPort(of: fd) else {
            close(fd)
            throw FixtureError("FaultProxy: bind/listen failed: errno \(errno)")
        }
        self.port = port
        self.listenFD = fd
        let thread = Thread { [self] in self.acceptLoop() }
        thread.name = "FaultProxy accept"
        thread.start()
    }

    /// `redis://127.0.0.1:<port>`.
    public var redisURL: String { "redis://127.0.0.1:\(port)" }

    /// Stops accepting and closes every connection.
    public func stop() {
        state.withLock { $0.stopped = true; $0.resetGeneration += 1 }
        notifyChange()
    }

    /// Resets (RST) every open connection, both sides.
    public func resetAllConnections() {
        state.withLock {
            $0.resetGeneration += 1
            $0.connectionsReset += $0.open
        }
        notifyChange()
    }

    /// Resets every open connection (as ``resetAllConnections()``) each time the bytes
    /// forwarded from clients reach one of `thresholds`: the fault lands while a load is in
    /// flight, ordered by its progress rather than by the clock. ``progressResets`` counts them.
    public func resetAllConnections(whenClientBytesReach thresholds: [Int]) {
        state.withLock { $0.resetsAtClientBytes = ($0.resetsAtClientBytes + thresholds).sorted() }
    }

    /// How many resets ``resetAllConnections(whenClientBytesReach:)`` made so far.
    public var progressResets: Int { state.withLock { $0.progressResetsDone } }

    /// Bytes forwarded from clients to the server so far.
    public var forwardedFromClient: Int { state.withLock { $0.forwardedFromClient } }

    /// The next `count` server-to-client chunks are forwarded only in part (half), then the
    /// connection is reset: a connection reset mid-reply.
    public func resetMidReply(count: Int = 1) {
        state.withLock { $0.pendingMidReplyResets += count }
    }

    /// Disarms pending mid-reply resets and ends a stall.
    public func clearFaults() {
        state.withLock {
            $0.pendingMidReplyResets = 0
            $0.stalled = false
            $0.refusing = false
        }
        notifyChange()
    }

    /// Stops (or resumes) forwarding in both directions; connections stay open, like a server
    /// that hangs.
    public func setStalled(_ stalled: Bool) {
        state.withLock { $0.stalled = stalled }
        notifyChange()
    }

    /// The connections open now stop forwarding, as if the server had stalled on them: what
    /// the client sends on them is kept (like bytes in a stalled server's socket buffer),
    /// even after the client closes them. Connections opened later work normally.
    public func holdOpenConnections() {
        state.withLock {
            $0.holdBelow = $0.accepted
            $0.holding = true
        }
    }

    /// Delivers what the held connections kept to the server, as a stalled server that
    /// resumes reads it: the server executes those commands now. A held connection the client
    /// closed meanwhile is then closed towards the server as well, after its replies.
    public func releaseHeldConnections() {
        state.withLock { $0.holding = false }
        notifyChange()
    }

    /// How many held connections delivered their kept bytes and finished, after
    /// ``releaseHeldConnections()``.
    public var heldConnectionsDelivered: Int { state.withLock { $0.heldDelivered } }

    /// Closes new connections as soon as they are accepted (or accepts them again).
    public func setRefusing(_ refusing: Bool) {
        state.withLock { $0.refusing = refusing }
    }

    /// How many accepted connections are being forwarded now (a connection ends when either
    /// side closes it or a reset cuts it; its two sockets are closed by then).
    public var openConnections: Int { state.withLock { $0.open } }

    /// Takes the server off the network (`true`), as a machine that is down or unreachable
    /// while its memcached keeps its data: the proxy closes its listening socket, so that
    /// connection attempts are refused (`ECONNREFUSED`, a failed connect for the client, which
    /// ``setRefusing(_:)`` is not: there the connect succeeds and the connection is reset), and
    /// resets every open connection. With `false` it listens on the same port again.
    ///
    /// The change happens on the proxy's accept thread; poll ``isListening`` to wait for it.
    /// While down, another process could take the port; the proxy then keeps trying to bind it.
    public func setDown(_ down: Bool) {
        state.withLock {
            $0.down = down
            if down { $0.resetGeneration += 1 }
        }
        notifyChange()
    }

    /// Whether the proxy listens now (`false` after ``setDown(_:)`` took effect).
    public var isListening: Bool { state.withLock { $0.listening } }

    /// How many connections were accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// How many mid-reply resets happened so far.
    public var midReplyResets: Int { state.withLock { $0.midReplyResetsDone } }

    /// How many open connections ``resetAllConnections()`` cut so far (each is reset as soon
    /// as its forwarding thread sees the order, within about 20 ms).
    public var connectionsReset: Int { state.withLock { $0.connectionsReset } }

    private func notifyChange() {
        changed.lock()
        changed.broadcast()
        changed.unlock()
    }

    /// Blocks the calling forwarding thread while `waiting` holds; re-checked on every change
    /// of the faults (the timed wait is only a safety net against a missed change).
    private func block(while waiting: () -> Bool) {
        changed.lock()
        defer { changed.unlock() }
        while waiting() { _ = changed.wait(until: Date().addingTimeInterval(0.5)) }
    }

    private func acceptLoop() {
        // Only this thread opens and closes the listening socket (see setDown).
        var listenFD = self.listenFD
        defer { if listenFD >= 0 { close(listenFD) } }
        while true {
            let (stopped, down) = state.withLock { ($0.stopped, $0.down) }
            if stopped { return }
            if down {
                if listenFD >= 0 {
                    close(listenFD)
                    listenFD = -1
                    state.withLock { $0.listening = false }
                }
                block(while: { state.withLock { $0.down && !$0.stopped } })
                continue
            }
            if listenFD < 0 {
                guard let reopened = Self.openListener(port: port) else {
                    // Another process holds the port for now: the kernel tells nobody when it
                    // frees it, so try again shortly.
                    Pace.block(.milliseconds(5))
                    continue
                }
                listenFD = reopened
                state.withLock { $0.listening = true }
            }
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            let (refusing, serial) = state.withLock { state -> (Bool, Int) in
                state.accepted += 1
                return (state.refusing, state.accepted - 1)
            }
            if refusing {
                Self.reset(client)
                continue
            }
            guard let upstream = connectUpstream() else {
                Self.reset(client)
                continue
            }
            // Counted as open from here; a reset ordered from now on cuts it.
            let generation = state.withLock { state -> Int in
                state.open += 1
                return state.resetGeneration
            }
            let thread = Thread { [self] in
                self.pump(client: client, server: upstream, generation: generation, serial: serial)
                self.state.withLock { $0.open -= 1 }
            }
            thread.name = "FaultProxy pump"
            thread.start()
        }
    }

    /// A listening socket on 127.0.0.1:`port`, or `nil` when the port cannot be bound.
    private static func openListener(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Loopback.bind(fd, port: port), listen(fd, 128) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    private func connectUpstream() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), Int32(TCP_NODELAY), &one, socklen_t(MemoryLayout<Int32>.size))
        if !Loopback.connect(fd, port: upstreamPort) {
            close(fd)
            return nil
        }
        return fd
    }

    /// Closes with RST instead of FIN.
    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    private func pump(client: Int32, server: Int32, generation: Int, serial: Int) {
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), Int32(TCP_NODELAY), &one, socklen_t(MemoryLayout<Int32>.size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer {
            Self.reset(client)
            Self.reset(server)
        }
        while true {
            let (stalled, current) = state.withLock { ($0.stalled, $0.resetGeneration) }
            if current != generation { return }
            if stalled {
                block(while: { state.withLock { $0.stalled && $0.resetGeneration == generation } })
                continue
            }
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 20) > 0 else { continue }
            // A held connection keeps what arrives from here on.
            if state.withLock({ $0.holding && serial < $0.holdBelow }) {
                hold(client: client, server: server, serial: serial)
                return
            }
            if fds[0].revents != 0 {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { return }
                if !Self.writeAll(server, buffer, count) { return }
                let reset = state.withLock { state -> Bool in
                    state.forwardedFromClient += count
                    guard let threshold = state.resetsAtClientBytes.first, state.forwardedFromClient >= threshold else { return false }
                    state.resetsAtClientBytes.removeFirst()
                    state.progressResetsDone += 1
                    state.resetGeneration += 1
                    state.connectionsReset += state.open
                    return true
                }
                if reset {
                    notifyChange()
                    return
                }
            }
            if fds[1].revents != 0 {
                let count = read(server, &buffer, buffer.count)
                if count <= 0 { return }
                let cut = state.withLock { state -> Bool in
                    state.forwardedFromServer += count
                    if state.pendingMidReplyResets > 0 && count >= 2 {
                        state.pendingMidReplyResets -= 1
                        state.midReplyResetsDone += 1
                        return true
                    }
                    return false
                }
                if cut {
                    _ = Self.writeAll(client, buffer, count / 2)
                    return
                }
                if !Self.writeAll(client, buffer, count) { return }
            }
        }
    }

    /// A held connection: keeps what the client sends until the hold is lifted, then delivers
    /// it to the server, ends the server's input, reads (and drops) its replies, and closes.
    private func hold(client: Int32, server: Int32, serial: Int) {
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var clientOpen = true
        while state.withLock({ $0.holding && serial < $0.holdBelow && !$0.stopped }) {
            guard clientOpen else {
                block(while: { state.withLock { $0.holding && serial < $0.holdBelow && !$0.stopped } })
                continue
            }
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 20) > 0 else { continue }
            let count = read(client, &buffer, buffer.count)
            if count <= 0 {
                clientOpen = false
            } else {
                kept += buffer[..<count]
            }
        }
        if !kept.isEmpty { _ = Self.writeAll(server, kept, kept.count) }
        // End of input for the server, after the kept commands; then read its replies (the
        // client is gone or is dropped here) until it closes or a second passes.
        shutdown(server, Int32(SHUT_WR))
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline {
            var fds = [pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 20) > 0 else { continue }
            if read(server, &buffer, buffer.count) <= 0 { break }
        }
        state.withLock { $0.heldDelivered += 1 }
    }

    private static func writeAll(_ fd: Int32, _ buffer: [UInt8], _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let written = buffer.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }
}
