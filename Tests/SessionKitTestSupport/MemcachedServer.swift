import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real memcached (Debian's package) for tests, on a free loopback port (or a given host and
/// port, or a Unix socket), stopped with ``stop()``.
///
/// ```swift
/// let server = try await MemcachedServer.start()
/// defer { server.stop() }
/// let store = try MemcachedSessionStore(url: server.url)
/// ```
public final class MemcachedServer: Sendable {
    /// What to configure beyond the defaults.
    public struct Options: Sendable {
        /// The loopback address to listen on. Default `127.0.0.1`. Any `127.x.y.z` works on Linux,
        /// which lets tests use port 11211 without clashing with a system memcached.
        public var host: String
        /// The port; `nil` picks a free one.
        public var port: Int?
        /// Listen on a Unix socket instead of TCP.
        public var unixSocket: Bool
        /// The item size limit (`-I`), e.g. `"1m"`; `nil` keeps memcached's default (1 MiB).
        public var itemSize: String?
        /// Memory for items in MiB (`-m`). Default 64.
        public var memoryMegabytes: Int
        /// More `memcached` arguments.
        public var extraArguments: [String]

        public init(host: String = "127.0.0.1", port: Int? = nil, unixSocket: Bool = false, itemSize: String? = nil,
                    memoryMegabytes: Int = 64, extraArguments: [String] = []) {
            self.host = host
            self.port = port
            self.unixSocket = unixSocket
            self.itemSize = itemSize
            self.memoryMegabytes = memoryMegabytes
            self.extraArguments = extraArguments
        }
    }

    /// The host clients connect to (unused for a Unix socket).
    public let host: String
    /// The TCP port (0 for a Unix socket).
    public let port: Int
    /// The Unix socket's path, when listening on one.
    public let unixSocketPath: String?
    /// The server's scratch directory.
    public let directory: String
    private let process: ServerProcess

    /// The binary's path, if installed.
    public static var executable: String? { ServerProcess.findExecutable("memcached") }

    /// Whether memcached tests should run: memcached is installed, or `CI=true` (where its
    /// absence must fail the tests rather than skip them).
    public static var shouldRun: Bool { ServerProcess.shouldRun(needing: "memcached") }

    /// `memcached://host:port`, or `unix:///path` for a Unix socket.
    public var url: String {
        if let unixSocketPath { return "unix://\(unixSocketPath)" }
        return "memcached://\(host):\(port)"
    }

    /// `host:port` as libmemcached and pylibmc take it (the socket path for a Unix socket).
    public var address: String { unixSocketPath ?? "\(host):\(port)" }

    private init(host: String, port: Int, unixSocketPath: String?, directory: String, process: ServerProcess) {
        self.host = host
        self.port = port
        self.unixSocketPath = unixSocketPath
        self.directory = directory
        self.process = process
    }

    /// Starts a server and waits until it accepts connections.
    ///
    /// - Throws: ``FixtureError`` when memcached is not installed or does not start.
    public static func start(_ options: Options = Options()) async throws -> MemcachedServer {
        if options.unixSocket { return try await start(options, onPort: 0) }
        if let port = options.port { return try await start(options, onPort: port) }
        return try await ServerProcess.retryingOnPortClash { try await start(options, onPort: $0) }
    }

    private static func start(_ options: Options, onPort port: Int) async throws -> MemcachedServer {
        guard let executable else {
            throw FixtureError("memcached is not installed; install it with `apt-get install -y memcached` (tests needing it skip unless CI=true)")
        }
        let directory = NSTemporaryDirectory() + "sessionkit-memcached-\(port)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var arguments = ["-U", "0", "-m", "\(options.memoryMegabytes)", "-c", "4096", "-t", "2"]
        if geteuid() == 0 { arguments += ["-u", "root"] }
        if let itemSize = options.itemSize { arguments += ["-I", itemSize] }
        let readiness: ServerProcess.Readiness
        var socketPath: String?
        if options.unixSocket {
            let path = directory + "/memcached.sock"
            socketPath = path
            arguments += ["-s", path, "-a", "700"]
            readiness = .unix(path: path)
        } else if options.host == "127.0.0.1" {
            arguments += ["-l", "127.0.0.1", "-p", "\(port)"]
            readiness = .tcp(port: port)
        } else {
            // The readiness probe talks to 127.0.0.1: listen there too, on a second free port.
            let probe = try ServerProcess.freePort()
            arguments += ["-l", "\(options.host):\(port),127.0.0.1:\(probe)", "-p", "\(port)"]
            readiness = .tcp(port: probe)
        }
        arguments += options.extraArguments
        let process = ServerProcess(executable: executable, arguments: arguments, readiness: readiness, logPath: directory + "/memcached.log")
        let server = MemcachedServer(host: options.host, port: port, unixSocketPath: socketPath, directory: directory, process: process)
        try await process.start()
        return server
    }

    /// Starts the server again after ``stop()``, with the same options (and no data).
    public func restart() async throws {
        process.stop()
        try await process.start()
    }

    /// Stops the server (its scratch directory stays for post-mortems).
    public func stop() { process.stop() }

    /// Whether the server process is running.
    public var isRunning: Bool { process.isRunning }

    /// Freezes the server process (SIGSTOP): it keeps its connections and answers nothing.
    public func suspend() { process.suspend() }

    /// Lets a server frozen by ``suspend()`` go on (SIGCONT).
    public func resume() { process.resume() }

    /// The end of the server's log.
    public func logTail() -> String { process.logTail() }

    private static let rawQueue = DispatchQueue(label: "SessionKitTestSupport.memcached-raw", attributes: .concurrent)

    /// Sends `command` (with its CRLF) on a fresh connection and returns everything the server
    /// answers up to and including a line equal to `terminator`. Blocking I/O runs on a
    /// Dispatch queue, never on Swift's cooperative pool; the whole exchange is bounded by `timeout`.
    public func raw(_ command: String, until terminator: String = "END", timeout: Duration = .seconds(10)) async throws -> String {
        let host = self.host, port = self.port, path = self.unixSocketPath
        return try await withCheckedThrowingContinuation { continuation in
            Self.rawQueue.async {
                continuation.resume(with: Result { try Self.exchange(host: host, port: port, path: path, command: command, terminator: terminator, timeout: timeout) })
            }
        }
    }

    /// Every key the server holds (`lru_crawler metadump all`), sorted.
    ///
    /// The crawler runs one dump at a time and answers `BUSY` while an earlier one (or its own
    /// background crawl) is still going, which happens on a loaded machine: that is retried.
    public func allKeys() async throws -> [String] {
        var dump = ""
        // The crawler's state is the server's: polled, bounded.
        _ = try await Poll.holds(within: .seconds(10), every: .milliseconds(100)) {
            dump = try await raw("lru_crawler metadump all\r\n", until: "END")
            return !dump.hasPrefix("BUSY")
        }
        guard !dump.hasPrefix("BUSY") else { throw FixtureError("memcached's LRU crawler stayed busy for 10 s") }
        return dump.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).compactMap { line -> String? in
            guard line.hasPrefix("key=") else { return nil }
            let field = line.split(separator: " ").first!.dropFirst(4)
            return String(field).removingPercentEncoding ?? String(field)
        }.sorted()
    }

    /// The server's `stats` as a dictionary.
    public func stats() async throws -> [String: String] {
        let text = try await raw("stats\r\n", until: "END")
        var result: [String: String] = [:]
        for line in text.split(separator: "\r\n") where line.hasPrefix("STAT ") {
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count == 3 { result[String(parts[1])] = String(parts[2]) }
        }
        return result
    }

    private static func exchange(host: String, port: Int, path: String?, command: String, terminator: String, timeout: Duration) throws -> String {
        let fd: Int32
        if let path {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { close(fd); throw FixtureError("cannot connect to memcached at \(path): errno \(errno)") }
        } else {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(fd); throw FixtureError("cannot connect to memcached at \(host):\(port): errno \(errno)") }
        }
        defer { close(fd) }
        let seconds = max(1, Int(timeout.components.seconds))
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(command.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw FixtureError("write to memcached failed: errno \(errno)") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Lines end in CRLF, except metadump's, which end in LF.
        let end = Array("\n\(terminator)\r\n".utf8), alone = Array("\(terminator)\r\n".utf8)
        while true {
            if received.count >= alone.count && (received == alone || received.suffix(end.count).elementsEqual(end)) { break }
            // The LRU crawler's one-line refusal ("BUSY currently processing crawler request").
            if received.starts(with: Array("BUSY ".utf8)) && received.suffix(2).elementsEqual([0x0D, 0x0A]) { break }
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { throw FixtureError("memcached closed or timed out before '\(terminator)'; got \(received.count) bytes") }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
