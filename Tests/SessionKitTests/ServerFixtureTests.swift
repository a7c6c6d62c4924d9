import Foundation
@testable import SessionKitTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The server fixtures pick a free port and start the server on it; another process can take
/// the port in between, and the fixture then tries another one.
@Suite("Server fixtures")
struct ServerFixtureTests {
    final class Counter: @unchecked Sendable {
        var value = 0
    }

    @Test func aPortClashIsRetriedWithAnotherPort() async throws {
        let attempts = Counter()
        var ports: [Int] = []
        let port = try await ServerProcess.retryingOnPortClash(attempts: 5) { port in
            attempts.value += 1
            ports.append(port)
            if attempts.value < 3 { throw FixtureError("server exited; log: bind: Address already in use") }
            return port
        }
        #expect(attempts.value == 3 && ports.last == port && ports.allSatisfy { $0 > 0 })
    }

    @Test func otherFailuresAndTheLastClashAreThrown() async throws {
        let attempts = Counter()
        await #expect(throws: FixtureError.self) {
            try await ServerProcess.retryingOnPortClash(attempts: 5) { _ -> Int in
                attempts.value += 1
                throw FixtureError("server exited; log: unknown option")
            }
        }
        #expect(attempts.value == 1)
        attempts.value = 0
        await #expect(throws: FixtureError.self) {
            try await ServerProcess.retryingOnPortClash(attempts: 4) { _ -> Int in
                attempts.value += 1
                throw FixtureError("Address already in use")
            }
        }
        #expect(attempts.value == 4)
    }

    /// Another server listening on the port before ours binds it answers the readiness check
    /// too; the fixture must not take it for ours, but start ours again on another port.
    @Test(.enabled(if: RedisServer.shouldRun, "redis-server is not installed (apt-get install -y redis-server); set CI=true to make this a failure"))
    func aPortHeldByAnotherServerIsNotTakenForOurs() async throws {
        let executable = try #require(RedisServer.executable, "redis-server is not installed; install it with `apt-get install -y redis-server`")
        let held = try ListeningSocket()
        defer { held.close() }
        let attempts = Counter()
        let (port, server) = try await ServerProcess.retryingOnPortClash(attempts: 5) { free in
            attempts.value += 1
            // The first attempt gets the held port, as if another fixture had just taken it.
            let port = attempts.value == 1 ? held.port : free
            let directory = NSTemporaryDirectory() + "sessionkit-fixture-\(port)-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let server = ServerProcess(
                executable: executable,
                arguments: ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no", "--protected-mode", "no"],
                readiness: .tcp(port: port), logPath: directory + "/redis.log")
            try await server.start()
            return (port, server)
        }
        defer { server.stop() }
        #expect(attempts.value >= 2)
        try #require(port != held.port, "the fixture took the held port's listener for its redis-server")
        let pid = try #require(server.processIdentifier)
        #expect(server.isRunning)
        // The server answering on the port is our child: it reports our child's process ID.
        let info = try Self.redis(port: port, "INFO server\r\nQUIT\r\n")
        #expect(info.contains("process_id:\(pid)\r\n"), "INFO server: \(info)")
    }

    /// On a busy machine `/proc/net/tcp` runs to many pages; a listening socket on a later
    /// page is still found. (Reading the table with `String(contentsOfFile:)` returns its first
    /// page only, which made the fixtures take a started server for another process's.)
    @Test func aListenerBeyondTheFirstPageOfTheKernelTableIsFound() async throws {
        var others: [ListeningSocket] = []
        defer { for socket in others { socket.close() } }
        for _ in 0..<300 { others.append(try ListeningSocket()) }
        let firstPage = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8).split(separator: "\n").count
        let whole = try #require(ProcFile.text("/proc/net/tcp")).split(separator: "\n").count
        #expect(whole > 300, "the whole table lists the 300 listening sockets: \(whole) lines")
        // The first page lists at most \(firstPage) sockets, so of any 40 listeners some are
        // further down; each must be found (40, not 300: every look reads the whole table).
        var missing = 0
        for socket in others.prefix(40) {
            if ServerProcess.listeningSocketInodes(port: socket.port).isEmpty { missing += 1 }
            await Task.yield()
        }
        #expect(firstPage < 41, "the first page holds fewer than 40 listeners: \(firstPage) lines")
        #expect(missing == 0, "\(missing) of 40 listeners not found (String(contentsOfFile:) read \(firstPage) lines)")
    }

    /// A socket listening on a free port of 127.0.0.1 that accepts no connection itself (the
    /// kernel completes them into its backlog): a stand-in for another test's server.
    final class ListeningSocket {
        let fd: Int32
        let port: Int

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw FixtureError("socket() failed: errno \(errno)") }
            guard Loopback.bind(fd, port: 0), listen(fd, SOMAXCONN) == 0, let port = Loopback.localPort(of: fd) else {
                Glibc.close(fd)
                throw FixtureError("bind() or listen() failed: errno \(errno)")
            }
            self.fd = fd
            self.port = port
        }

        func close() { _ = Glibc.close(fd) }
    }

    /// Sends `commands` (inline Redis commands ending in QUIT) to 127.0.0.1:`port` and returns
    /// everything the server answers until it closes the connection (5 s at most).
    static func redis(port: Int, _ commands: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard Loopback.connect(fd, port: port) else { throw FixtureError("connect() to port \(port) failed: errno \(errno)") }
        let request = Array(commands.utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { throw FixtureError("send() failed: errno \(errno)") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
