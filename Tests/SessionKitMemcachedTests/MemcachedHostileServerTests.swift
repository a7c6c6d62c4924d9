import Foundation
import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot fake memcached on 127.0.0.1: for each connection it reads one request line,
/// answers with a scripted reply and keeps the connection open until the client closes it, on
/// its own thread with blocking I/O (never Swift's pool).
final class ScriptedMemcached: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let reply: [UInt8]

    init(reply: String) throws {
        self.reply = Array(reply.utf8)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw FixtureError("ScriptedMemcached: bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        Thread { [self] in self.serve() }.start()
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func serve() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var received: [UInt8] = []
            while !received.contains(0x0A) {
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            _ = reply.withUnsafeBytes { send(client, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            // The connection stays open until the client hangs up (it must judge the reply
            // itself, not learn from a close); the test's client.close() ends it at the latest.
            while read(client, &buffer, buffer.count) > 0 {}
            close(client)
        }
    }
}

@Suite("memcached client against hostile servers")
struct MemcachedHostileServerTests {
    static let replies: [String] = [
        "VALUE someone-else 0 6\r\nsecret\r\nEND\r\n",      // another key's value: never delivered
        "STORED\r\n",                                         // the wrong kind of reply for a get
        "VALUE k 0 99999999\r\n",                              // a huge announced length
        "VALUE k 0 1\r\nxyz\r\nEND\r\n",                       // data longer than announced
        "HELLO\r\n",                                          // not memcached at all
        "VALUE k 0 1\r\nx\r\nEND\r\nEND\r\n",                  // a reply nobody asked for
        String(repeating: "A", count: 100_000),               // an endless line
    ]

    @Test("a hostile reply to get fails with protocolError and never returns another key's data", arguments: replies.indices)
    func hostileReply(_ index: Int) async throws {
        let server = try ScriptedMemcached(reply: Self.replies[index])
        defer { server.stop() }
        let client = try MemcachedClient(testing: "memcached://127.0.0.1:\(server.port)")
        defer { client.close() }
        do {
            let item = try await withDeadline(.seconds(20), "get from a hostile server") { try await client.get("k") }
            // Only the well-formed `VALUE k 0 1 x` followed by an unsolicited END may complete.
            #expect(index == 5 && item?.value == Array("x".utf8), "got \(String(describing: item))")
        } catch let error as SessionError {
            #expect(error.code == .protocolError, "\(error)")
            #expect(!error.message.contains("secret"))
        }
    }
}
