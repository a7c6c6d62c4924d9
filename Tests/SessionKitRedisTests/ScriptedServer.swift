import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitRedis
@_spi(Engine) import SessionKitNetworking
import SessionKitTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fake Redis server whose replies a test scripts, for what a real server will not do on
/// demand: `LOADING`, `NOPROTO`, malformed or unsolicited replies, hostile lengths.
///
/// Runs on its own threads with blocking I/O, never on the cooperative pool.
final class ScriptedServer: Sendable {
    /// Decides the raw reply bytes to a command; `nil` closes the connection.
    typealias Script = @Sendable (_ command: [String], _ connection: Int) -> [UInt8]?

    let port: Int
    private let listenFD: Int32
    private let script: Script
    private let heartbeat: Bool
    private let trickle: (command: String, pause: Duration)?
    private let state = Mutex<(stopped: Bool, commands: [[String]], connections: Int, trickled: Int, peerClosed: Int)>((false, [], 0, 0, 0))

    /// - Parameters:
    ///   - heartbeat: send a RESP3 push frame every 20 ms, so the client sees traffic
    ///     (and no stall) while its commands go unanswered.
    ///   - trickle: send the replies to this command one byte at a time, pausing between bytes
    ///     (a slow or hostile server); the connection's thread does nothing else meanwhile.
    init(heartbeat: Bool = false, trickle: (command: String, pause: Duration)? = nil, _ script: @escaping Script) throws {
        self.script = script
        self.heartbeat = heartbeat
        self.trickle = trickle
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw FixtureError("ScriptedServer: cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listenFD = fd
        Thread { [self] in acceptLoop() }.start()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Every command received so far, in order.
    var commands: [[String]] { state.withLock { $0.commands } }
    /// How many connections were accepted.
    var connections: Int { state.withLock { $0.connections } }
    /// How many bytes of trickled replies were sent.
    var trickled: Int { state.withLock { $0.trickled } }
    /// How many connections the client closed while a reply was being trickled to it.
    var peerClosedWhileTrickling: Int { state.withLock { $0.peerClosed } }

    func stop() { state.withLock { $0.stopped = true } }

    private func acceptLoop() {
        defer { close(listenFD) }
        while !state.withLock({ $0.stopped }) {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            let index = state.withLock { state -> Int in
                state.connections += 1
                return state.connections
            }
            Thread { [self] in serve(client, index) }.start()
        }
    }

    private func serve(_ fd: Int32, _ index: Int) {
        defer { close(fd) }
        var parser = RESPParser()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !state.withLock({ $0.stopped }) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 20) > 0 else {
                if heartbeat {
                    let push = [UInt8](resp: ">1\r\n+tick\r\n")
                    if push.withUnsafeBytes({ send(fd, $0.baseAddress!, push.count, Int32(MSG_NOSIGNAL)) }) <= 0 { return }
                }
                continue
            }
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            parser.append(buffer[0..<count])
            while let value = try? parser.next() {
                guard case .array(let parts) = value else { return }
                let command = parts.map { $0.string ?? "" }
                state.withLock { $0.commands.append(command) }
                guard let reply = script(command, index) else { return }
                if let trickle, command.first == trickle.command {
                    for byte in reply {
                        if state.withLock({ $0.stopped }) { return }
                        guard [byte].withUnsafeBytes({ send(fd, $0.baseAddress!, 1, Int32(MSG_NOSIGNAL)) }) == 1 else {
                            state.withLock { $0.peerClosed += 1 }
                            return
                        }
                        state.withLock { $0.trickled += 1 }
                        // Pacing the server, not synchronizing the test.
                        usleep(UInt32(trickle.pause.milliseconds * 1000))
                    }
                    continue
                }
                var offset = 0
                while offset < reply.count {
                    let written = reply.withUnsafeBytes { send(fd, $0.baseAddress! + offset, reply.count - offset, Int32(MSG_NOSIGNAL)) }
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }

    /// A RESP3 `HELLO` answer.
    static let hello = Array("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n".utf8)
}

extension Array where Element == UInt8 {
    init(resp text: String) { self = Array(text.utf8) }
}
