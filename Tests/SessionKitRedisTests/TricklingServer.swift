import Foundation
import SessionKit
@testable import SessionKitRedis
import SessionKitTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fake Redis server that answers `GET` slowly: the first `burst` bytes of `reply` at once,
/// then the rest one byte per `interval`, until the client hangs up or ``stop()`` is called.
/// `HELLO` gets the usual RESP3 answer. Runs on its own threads with blocking I/O.
final class TricklingServer: Sendable {
    struct Progress: Sendable {
        /// Bytes of the reply written so far.
        var sent = 0
        /// The process's CPU time (user + system) when the burst was written, in seconds.
        var cpuAfterBurst: Double?
        /// The client closed the connection while the reply was trickling (a write failed).
        var clientHungUp = false
    }

    let port: Int
    private let listenFD: Int32
    private let reply: [UInt8]
    private let burst: Int
    private let interval: Duration
    private let state = Mutex<(stopped: Bool, progress: Progress)>((false, Progress()))

    init(reply: [UInt8], burst: Int, interval: Duration = .milliseconds(1)) throws {
        self.reply = reply
        self.burst = min(burst, reply.count)
        self.interval = interval
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw FixtureError("TricklingServer: cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listenFD = fd
        Thread { [self] in acceptLoop() }.start()
    }

    var url: String { "redis://127.0.0.1:\(port)" }
    var progress: Progress { state.withLock { $0.progress } }

    func stop() { state.withLock { $0.stopped = true } }

    private var stopped: Bool { state.withLock { $0.stopped } }

    /// The process's CPU time so far (user + system), in seconds.
    static func processCPUTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !stopped {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + (offset - bytes.startIndex), bytes.endIndex - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var parser = RESPParser()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !stopped {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 20) > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            parser.append(buffer[0..<count])
            while let value = try? parser.next() {
                guard case .array(let parts) = value else { return }
                switch parts.first?.string {
                case "HELLO":
                    guard write(fd, ScriptedServer.hello[...]) else { return }
                case "GET":
                    trickle(fd)
                    return
                default:
                    guard write(fd, Array("+OK\r\n".utf8)[...]) else { return }
                }
            }
        }
    }

    private func trickle(_ fd: Int32) {
        guard write(fd, reply[..<burst]) else { return }
        state.withLock {
            $0.progress.sent = burst
            $0.progress.cpuAfterBurst = Self.processCPUTime()
        }
        var offset = burst
        while offset < reply.count && !stopped {
            // The pace of a slow server is the behaviour under test.
            Pace.block(interval)
            guard write(fd, reply[offset...offset]) else {
                state.withLock { $0.progress.clientHungUp = true }
                return
            }
            offset += 1
            state.withLock { $0.progress.sent = offset }
        }
    }
}
