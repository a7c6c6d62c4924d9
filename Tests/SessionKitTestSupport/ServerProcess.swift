import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A failure of a test fixture (server missing, failed to start...).
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a server binary (redis-server, memcached...) for tests: on a free loopback port, waits
/// until it accepts connections, and stops it.
///
/// ```swift
/// let port = try ServerProcess.freePort()
/// let server = ServerProcess(executable: path, arguments: ["--port", "\(port)"], readiness: .tcp(port: port))
/// try await server.start()
/// defer { server.stop() }
/// ```
public final class ServerProcess: Sendable {
    /// How to tell that the server is ready.
    public enum Readiness: Sendable {
        /// It accepts TCP connections on 127.0.0.1 at this port.
        case tcp(port: Int)
        /// It accepts connections on this Unix socket.
        case unix(path: String)
    }

    /// The binary.
    public let executable: String
    /// Its arguments.
    public let arguments: [String]
    /// How to tell that it is ready.
    public let readiness: Readiness
    /// Where its standard output and error go.
    public let logPath: String
    private let process = Mutex<Process?>(nil)

    /// Describes a server; nothing runs until ``start(timeout:)``.
    public init(executable: String, arguments: [String], readiness: Readiness, logPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.readiness = readiness
        self.logPath = logPath
    }

    deinit { stop() }

    /// Finds a binary on `PATH` or in the usual system directories.
    public static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"]
        for directory in directories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether tests run under CI (`CI=true`), where a missing server binary is a failure.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Whether tests that need `name` should run: it is installed, or we are under CI (where
    /// the test then fails loudly when the binary is missing).
    public static func shouldRun(needing name: String) -> Bool {
        findExecutable(name) != nil || isCI
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        guard Loopback.bind(fd, port: 0), let port = Loopback.localPort(of: fd) else {
            throw FixtureError("bind() failed: errno \(errno)")
        }
        return port
    }

    /// Calls `start` with a free port, and again with another one (up to `attempts` times in
    /// all) when the server could not bind it: a port that was free when it was picked can be
    /// taken, by another test's connection, before the server binds it.
    public static func retryingOnPortClash<T>(attempts: Int = 5, _ start: (Int) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await start(try freePort())
            } catch let error as FixtureError where attempt < attempts && error.description.contains("Address already in use") {
                attempt += 1
            }
        }
    }

    /// Starts the binary and waits until it accepts connections.
    ///
    /// On a TCP port, a connection counts only when the socket listening there is the child's
    /// (see ``listensItself(_:pid:)``): another server that took the port first would accept it
    /// too, while ours fails to bind and exits.
    ///
    /// - Throws: ``FixtureError`` when it exits early or is not ready before `timeout`; the
    ///   message includes the end of its log, and says "Address already in use" when another
    ///   process still listens on the port, so that ``retryingOnPortClash(attempts:_:)`` tries
    ///   another one.
    public func start(timeout: Duration = .seconds(10)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        ChildRegistry.add(process.processIdentifier)
        // Whether a connection reached another process's server: ours should then soon exit on
        // "Address already in use", which the check below reports.
        var heldByAnother = false
        var exited = false
        var lastLook = ""
        // The server's readiness is another process's state: polled, bounded by `timeout`.
        let ready = try await Poll.holds(within: timeout) {
            if !process.isRunning {
                exited = true
                return true
            }
            if Self.accepts(readiness) {
                if Self.listensItself(readiness, pid: process.processIdentifier) { return true }
                heldByAnother = true
                lastLook = Self.describeListeners(readiness, pid: process.processIdentifier)
            }
            return false
        }
        if exited {
            throw FixtureError("\(executable) exited with status \(process.terminationStatus) while starting; log:\n\(logTail())")
        }
        if ready { return }
        stop()
        if heldByAnother, case .tcp(let port) = readiness {
            throw FixtureError("\(executable) did not start within \(timeout): port \(port) is held by another process (Address already in use; \(lastLook)); log:\n\(logTail())")
        }
        throw FixtureError("\(executable) did not accept connections within \(timeout); log:\n\(logTail())")
    }

    /// Whether the process is running.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The running process's ID, if any.
    public var processIdentifier: Int32? { process.withLock { $0.map(\.processIdentifier) } }

    /// Freezes the process (SIGSTOP): connections stay open, nothing is answered, like a server
    /// that hangs. ``resume()`` lets it go on.
    public func suspend() {
        if let pid = processIdentifier { kill(pid, SIGSTOP) }
    }

    /// Lets a process frozen by ``suspend()`` go on (SIGCONT).
    public func resume() {
        if let pid = processIdentifier { kill(pid, SIGCONT) }
    }

    /// Stops the server (SIGKILL: tests need no graceful shutdown) and reaps it.
    public func stop() {
        let process = self.process.withLock { current -> Process? in
            defer { current = nil }
            return current
        }
        guard let process else { return }
        ChildRegistry.remove(process.processIdentifier)
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The last lines of the server's log.
    public func logTail(lines: Int = 20) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "(no log)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Tries one non-blocking connect; loopback and Unix sockets answer at once.
    static func accepts(_ readiness: Readiness) -> Bool {
        switch readiness {
        case .tcp(let port):
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            return Loopback.connect(fd, port: port)
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            } == 0
        }
    }

    /// Whether process `pid` itself listens where `readiness` connects, rather than another
    /// process that held the port first (a server started by a test running in parallel).
    ///
    /// On Linux, for a TCP port: one of the sockets listening on the port at 127.0.0.1 or at
    /// every address (`/proc/net/tcp`, and `/proc/net/tcp6` for `::` and `::ffff:127.0.0.1`)
    /// is one of the process's file descriptors (`/proc/<pid>/fd/*` links to `socket:[inode]`).
    /// A Unix socket, and any socket elsewhere, counts as the process's own.
    static func listensItself(_ readiness: Readiness, pid: Int32) -> Bool {
        #if os(Linux)
        guard case .tcp(let port) = readiness else { return true }
        let listeners = listeningSocketInodes(port: port)
        guard !listeners.isEmpty else { return false }
        let directory = "/proc/\(pid)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return descriptors.contains { descriptor in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + descriptor) else { return false }
            return listeners.contains(target)
        }
        #else
        return true
        #endif
    }

    /// What the last look saw, for the error: the sockets listening on the port and the
    /// child's own sockets.
    static func describeListeners(_ readiness: Readiness, pid: Int32) -> String {
        #if os(Linux)
        guard case .tcp(let port) = readiness else { return "" }
        let directory = "/proc/\(pid)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let sockets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0) }
            .filter { $0.hasPrefix("socket:") }
        return "listening there: \(listeningSocketInodes(port: port).sorted()), the server's sockets: \(sockets.sorted())"
        #else
        return ""
        #endif
    }

    #if os(Linux)
    /// The sockets listening on `port` where a connection to 127.0.0.1 can land, as
    /// `socket:[inode]`, the way `/proc/<pid>/fd/*` links to them.
    ///
    /// `/proc/net/tcp*` lines read `sl local_address rem_address st ... uid timeout inode`, with
    /// the address as hex 32-bit words in host byte order, the port in hex, and `0A` for LISTEN.
    static func listeningSocketInodes(port: Int) -> Set<String> {
        let loopback = String(format: "%08X", inet_addr("127.0.0.1"))
        let addresses: Set<String> = [
            loopback, "00000000",  // 127.0.0.1, 0.0.0.0
            String(repeating: "0", count: 32),  // ::
            "0000000000000000" + String(format: "%08X", UInt32(0xFFFF).bigEndian) + loopback,  // ::ffff:127.0.0.1
        ]
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcFile.text(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[3] == "0A" else { continue }
                let local = fields[1].split(separator: ":")
                guard local.count == 2, addresses.contains(String(local[0])), Int(local[1], radix: 16) == port else { continue }
                inodes.insert("socket:[\(fields[9])]")
            }
        }
        return inodes
    }
    #endif
}

/// Server processes still running, killed when the test process exits so that none outlive it.
enum ChildRegistry {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installed: Bool = {
        atexit {
            for pid in ChildRegistry.snapshot() { kill(pid, SIGKILL) }
        }
        return true
    }()

    static func add(_ pid: Int32) {
        _ = installed
        pids.withLock { _ = $0.insert(pid) }
    }

    static func remove(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func snapshot() -> Set<Int32> { pids.withLock { $0 } }
}
