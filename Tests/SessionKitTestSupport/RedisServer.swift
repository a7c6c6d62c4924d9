import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real redis-server (Debian's package) for tests, on a free loopback port and a Unix socket,
/// with no persistence.
///
/// ```swift
/// let server = try await RedisServer.start()
/// defer { server.stop() }
/// let store = try RedisSessionStore(url: server.url)
/// ```
public final class RedisServer: Sendable {
    /// What to configure beyond the defaults.
    public struct Options: Sendable {
        /// `requirepass`: the default user's password.
        public var password: String?
        /// ACL users as (name, password); each gets every key and command.
        public var users: [(name: String, password: String)]
        /// More `redis-server` arguments, e.g. `["--rename-command", "HELLO", ""]`.
        public var extraArguments: [String]
        /// Also listen on `::1` when the machine has IPv6 loopback.
        public var ipv6: Bool

        public init(password: String? = nil, users: [(name: String, password: String)] = [], extraArguments: [String] = [], ipv6: Bool = false) {
            self.password = password
            self.users = users
            self.extraArguments = extraArguments
            self.ipv6 = ipv6
        }
    }

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The Unix socket's path.
    public let unixSocketPath: String
    /// The server's scratch directory.
    public let directory: String
    private let process: ServerProcess

    /// Why the IPv6 loopback test cannot run here, or nil when it must run.
    ///
    /// Only a machine that demonstrably has no IPv6 loopback skips it: the kernel refuses IPv6
    /// sockets, IPv6 is disabled on `lo`, or `lo` has no `::1` in `/proc/net/if_inet6`. Under
    /// CI that is all; elsewhere a `::1` that cannot be bound for another reason skips too. A
    /// `::1` that is there but does not work is then the test's failure, not a skip.
    public static var ipv6LoopbackMissing: String? {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 {
            let code = errno
            return "this machine has no IPv6 loopback: the kernel refuses IPv6 sockets (socket(AF_INET6): \(String(cString: strerror(code))))"
        }
        defer { close(fd) }
        if let disabled = try? String(contentsOfFile: "/proc/sys/net/ipv6/conf/lo/disable_ipv6", encoding: .utf8),
            disabled.trimmingCharacters(in: .whitespacesAndNewlines) == "1" {
            return "this machine has no IPv6 loopback: IPv6 is disabled on lo (/proc/sys/net/ipv6/conf/lo/disable_ipv6 is 1)"
        }
        if let addresses = try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8),
            !addresses.split(separator: "\n").contains(where: { $0.hasPrefix("00000000000000000000000000000001 ") }) {
            return "this machine has no IPv6 loopback: lo has no ::1 (/proc/net/if_inet6 does not list it)"
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        } == 0
        if !bound && !ServerProcess.isCI {
            let code = errno
            return "::1 cannot be bound here (\(String(cString: strerror(code)))); set CI=true to make this a failure"
        }
        return nil
    }

    /// The binary's path, if installed.
    public static var executable: String? { ServerProcess.findExecutable("redis-server") }

    /// Whether Redis tests should run: redis-server is installed, or `CI=true` (where its
    /// absence must fail the tests rather than skip them).
    public static var shouldRun: Bool { ServerProcess.shouldRun(needing: "redis-server") }

    /// `redis://127.0.0.1:<port>`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// `unix://<socket path>`.
    public var unixURL: String { "unix://\(unixSocketPath)" }

    private init(port: Int, directory: String, process: ServerProcess) {
        self.port = port
        self.directory = directory
        self.unixSocketPath = directory + "/redis.sock"
        self.process = process
    }

    /// Starts a server and waits until it accepts connections.
    ///
    /// - Throws: ``FixtureError`` when redis-server is not installed or does not start.
    public static func start(_ options: Options = Options(), port: Int? = nil) async throws -> RedisServer {
        if let port { return try await start(options, onPort: port) }
        return try await ServerProcess.retryingOnPortClash { try await start(options, onPort: $0) }
    }

    private static func start(_ options: Options, onPort port: Int) async throws -> RedisServer {
        guard let executable else {
            throw FixtureError("redis-server is not installed; install it with `apt-get install -y redis-server` (tests needing it skip unless CI=true)")
        }
        let directory = NSTemporaryDirectory() + "sessionkit-redis-\(port)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
            "--dir", directory,
            "--unixsocket", directory + "/redis.sock", "--unixsocketperm", "700",
            "--daemonize", "no", "--protected-mode", "no",
        ]
        if options.ipv6 {
            // "-" marks the address optional: the server starts even without IPv6.
            arguments[3] = "127.0.0.1"
            arguments.insert("-::1", at: 4)
        }
        if let password = options.password { arguments += ["--requirepass", password] }
        for user in options.users {
            arguments += ["--user", user.name, "on", ">" + user.password, "~*", "&*", "+@all"]
        }
        arguments += options.extraArguments
        let process = ServerProcess(executable: executable, arguments: arguments, readiness: .tcp(port: port), logPath: directory + "/redis.log")
        let server = RedisServer(port: port, directory: directory, process: process)
        try await process.start()
        return server
    }

    /// A new server with the same options on the same port, after this one is stopped.
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
}
