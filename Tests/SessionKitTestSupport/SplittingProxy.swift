import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 in front of a real server that forwards each direction in pieces of
/// random size (1 byte up to ``maxChunk``), each sent on its own with `TCP_NODELAY`, so that
/// the receivers see their peer's bytes split at arbitrary points: inside TLS records, record
/// headers and protocol lines.
///
/// The sizes come from a seeded generator: each connection and direction draws from
/// `seed`, the connection's serial number and the direction, so a seed printed by a failing
/// run draws the same sizes again. A chunk also ends where the proxy's read of the socket
/// ended, which depends on timing: a replay gives the same sizes, not always the same cuts.
///
/// It runs on its own threads with blocking reads and writes, never on Swift's cooperative pool.
public final class SplittingProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    /// The port of the real server.
    public let upstreamPort: Int
    /// The seed of the chunk sizes.
    public let seed: UInt64
    /// The largest chunk sent.
    public let maxChunk: Int

    /// What one direction forwarded.
    public struct Counts: Sendable, Equatable {
        /// Chunks sent, each with its own `send(2)`.
        public var chunks = 0
        /// Chunks of exactly one byte.
        public var oneByteChunks = 0
        /// Bytes forwarded.
        public var bytes = 0
        /// The largest chunk sent.
        public var largestChunk = 0
    }

    private struct State {
        var stopped = false
        var accepted = 0
        var toServer = Counts()
        var toClient = Counts()
        /// The sockets of the connections being forwarded, to shut down on ``stop()``.
        var sockets: Set<Int32> = []
    }
    private let state = Mutex(State())
    private let listenFD: Int32

    /// Starts listening on a free port and forwarding to `upstreamPort` on 127.0.0.1, in chunks
    /// of 1 to `maxChunk` bytes drawn from `seed`.
    public init(upstreamPort: Int, seed: UInt64, maxChunk: Int = 4096) throws {
        precondition(maxChunk >= 2)
        self.upstreamPort = upstreamPort
        self.seed = seed
        self.maxChunk = maxChunk
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("SplittingProxy: socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Loopback.bind(fd, port: 0), listen(fd, 128) == 0, let port = Loopback.localPort(of: fd) else {
            close(fd)
            throw FixtureError("SplittingProxy: bind/listen failed: errno \(errno)")
        }
        self.port = port
        self.listenFD = fd
        let thread = Thread { [self] in self.acceptLoop() }
        thread.name = "SplittingProxy accept"
        thread.start()
    }

    /// A seed from `SESSIONKIT_SPLIT_SEED` when set (to replay a run), otherwise a random one.
    public static func seedFromEnvironment() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["SESSIONKIT_SPLIT_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64.max)
    }

    /// What was forwarded from clients to the server so far.
    public var toServer: Counts { state.withLock { $0.toServer } }
    /// What was forwarded from the server to clients so far.
    public var toClient: Counts { state.withLock { $0.toClient } }
    /// How many connections were accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Stops accepting and ends every connection.
    public func stop() {
        // Under the lock, so that no socket is closed (and its number reused) meanwhile.
        state.withLock { state in
            state.stopped = true
            for fd in state.sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !state.withLock({ $0.stopped }) {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            guard let server = connectUpstream() else {
                FaultProxy.reset(client)
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), Int32(TCP_NODELAY), &one, socklen_t(MemoryLayout<Int32>.size))
            let serial = state.withLock { state -> Int in
                state.accepted += 1
                state.sockets.formUnion([client, server])
                return state.accepted
            }
            // Two forwarding threads; the last one to finish closes both sockets.
            let remaining = Atomic<Int>(2)
            let finish: @Sendable () -> Void = { [self] in
                guard remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 else { return }
                state.withLock { state in
                    state.sockets.subtract([client, server])
                    close(client)
                    close(server)
                }
            }
            let connectionSeed = seed &+ UInt64(serial) &* 0x9E37_79B9_7F4A_7C15
            let up = Thread { [self] in
                self.forward(from: client, to: server, seed: connectionSeed, toServer: true)
                finish()
            }
            up.name = "SplittingProxy to server"
            let down = Thread { [self] in
                self.forward(from: server, to: client, seed: connectionSeed ^ 0xD1B5_4A32_D192_ED03, toServer: false)
                finish()
            }
            down.name = "SplittingProxy to client"
            up.start()
            down.start()
        }
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

    /// Forwards one direction until its end, in random chunks; then ends the other side's input.
    private func forward(from source: Int32, to destination: Int32, seed: UInt64, toServer: Bool) {
        var random = ChunkSizes(seed: seed)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer { shutdown(destination, Int32(SHUT_WR)) }
        while true {
            let count = read(source, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                if count < 0 { shutdown(source, Int32(SHUT_RDWR)) }
                return
            }
            var offset = 0
            while offset < count {
                let size = min(chunkSize(&random), count - offset)
                guard Self.sendAll(destination, buffer, from: offset, count: size) else {
                    shutdown(source, Int32(SHUT_RDWR))
                    return
                }
                offset += size
                state.withLock { state in
                    func add(_ counts: inout Counts) {
                        counts.chunks += 1
                        counts.bytes += size
                        if size == 1 { counts.oneByteChunks += 1 }
                        counts.largestChunk = max(counts.largestChunk, size)
                    }
                    if toServer { add(&state.toServer) } else { add(&state.toClient) }
                }
                // Lets the receiver run between chunks, so that more of them arrive on their own.
                sched_yield()
            }
        }
    }

    /// A quarter of the chunks are 1 byte, a quarter 2 to 64 bytes (inside headers and lines),
    /// half up to ``maxChunk`` (across records).
    private func chunkSize(_ random: inout ChunkSizes) -> Int {
        let draw = random.next()
        switch draw % 4 {
        case 0: return 1
        case 1: return 2 + Int((draw >> 8) % 63)
        default: return 1 + Int((draw >> 8) % UInt64(maxChunk))
        }
    }

    private static func sendAll(_ fd: Int32, _ buffer: [UInt8], from start: Int, count: Int) -> Bool {
        var offset = start
        let end = start + count
        while offset < end {
            let written = buffer.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, end - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }
}

/// A small seeded generator (SplitMix64): the same seed, the same sequence.
struct ChunkSizes {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49EB_00D1_13EB
        return z ^ (z >> 31)
    }
}
