import Dispatch
import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking
@_spi(Engine) @testable import SessionKitMemcached
import SessionKitTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fake memcached on 127.0.0.1 for one connection: it reads `lines` request lines, then sends
/// the chunks `respond` makes from them, pausing `pause` microseconds between chunks, on its own
/// thread with blocking I/O. It records how many bytes it managed to send and whether every
/// chunk went out (a client that hangs up early makes a later send fail).
final class BurstMemcached: @unchecked Sendable {
    struct Outcome: Sendable {
        var sent = 0
        var sentEverything = false
        var done = false
    }

    let port: Int
    let outcome = Mutex(Outcome())
    private let listener: Int32
    private let lines: Int
    private let pause: UInt32
    private let respond: @Sendable ([String]) -> [[UInt8]]

    init(lines: Int, pause: UInt32 = 0, respond: @escaping @Sendable ([String]) -> [[UInt8]]) throws {
        self.lines = lines
        self.pause = pause
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw FixtureError("BurstMemcached: bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        Thread { [self] in self.serve() }.start()
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    /// Serves the first connection; later ones are closed at once. The listener is closed only
    /// once ``stop()`` made `accept` fail, so `stop()` never touches a reused descriptor.
    private func serve() {
        defer { close(listener) }
        var served = false
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            if served { close(client); continue }
            served = true
            handle(client)
            close(client)
            outcome.withLock { $0.done = true }
        }
    }

    private func handle(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received: [UInt8] = []
        while received.lazy.filter({ $0 == 0x0A }).count < lines {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            received += buffer[0..<n]
        }
        let requests = String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        var everything = true
        sending: for (index, chunk) in respond(requests).enumerated() {
            if index > 0 { Pace.block(.microseconds(pause)) }  // the trickle is the load under test
            var offset = 0
            while offset < chunk.count {
                let n = chunk.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { everything = false; break sending }
                offset += n
                outcome.withLock { $0.sent += n }
            }
        }
        outcome.withLock { $0.sentEverything = everything }
        // Wait (bounded) for the client to hang up, so that it reads what was sent.
        var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        for _ in 0..<50 {
            guard poll(&poller, 1, 100) > 0 else { continue }
            if read(client, &buffer, buffer.count) <= 0 { return }
        }
    }
}

@Suite("memcached meta flags never reach the wire unvalidated", .needsMemcached, .serialized)
struct MemcachedMetaFlagInjectionTests {
    static let hostileFlags: [String] = [
        "v\r\nflush_all", "v\nflush_all", "v\rflush_all", "v flush_all", "v\u{0}", "\u{0}", "", " ",
        "v\u{1}", "T\t1", "v\u{7F}", "é", "1v",
    ]

    @Test("send refuses meta flags with CR, LF, space, NUL, control characters or empty, before any byte is written")
    func hostileMetaFlagsAreRefused() async throws {
        let server = try await MemcachedServer.start()
        defer { server.stop() }
        let client = try MemcachedClient(testing: server.url)
        defer { client.close() }
        try await client.set("victim", value: bytes("keep me"), ttl: 600)
        let keysBefore = try await server.allKeys()
        let statsBefore = try await server.stats()
        let bytesBefore = client.writeStatistics.bytes
        for flag in Self.hostileFlags {
            let commands: [MemcachedCommand] = [
                .metaGet(key: "victim", flags: ["v", flag]),
                .metaSet(key: "victim", value: bytes("x"), flags: [flag]),
                .metaDelete(key: "victim", flags: [flag, "q"]),
            ]
            for command in commands {
                let error = await #expect(throws: SessionError.self, "\(command.name) with flag \(flag.debugDescription)") {
                    _ = try await client.send(command)
                }
                #expect(error?.code == .invalidKey, "\(String(describing: error))")
                var buffer: [UInt8] = []
                #expect(throws: SessionError.self) { try MemcachedEncoder.encode(command, into: &buffer) }
                #expect(buffer.isEmpty)
            }
        }
        #expect(client.writeStatistics.bytes == bytesBefore, "not one byte was written for a refused command")
        #expect(try await server.allKeys() == keysBefore)
        let statsAfter = try await server.stats()
        for counter in ["cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "delete_hits", "delete_misses", "curr_items", "total_items"] {
            #expect(statsAfter[counter] == statsBefore[counter], "\(counter) changed: \(statsBefore[counter] ?? "?") -> \(statsAfter[counter] ?? "?")")
        }
        #expect(try await client.get("victim")?.value == bytes("keep me"))
        // Well-formed flags still work.
        guard case .meta(let reply) = try await client.send(.metaGet(key: "victim", flags: ["v", "t"])) else {
            Issue.record("mg v t did not answer with a meta reply"); return
        }
        #expect(reply.value == bytes("keep me"))
    }
}

@Suite("memcached stream safety against hostile servers")
struct MemcachedStreamSafetyTests {
    /// Three gets wait on one connection; the loop is held so that two reads are handled before
    /// any close could run: the first read holds a reply of the wrong kind and then a reply
    /// that fits the next request, the second read a reply that fits the one after.
    @Test("after a mismatched reply, no later reply of the same burst or a following read reaches a waiter")
    func mismatchFailsEveryWaiterAtOnce() async throws {
        let server = try BurstMemcached(lines: Int.max) { _ in [] }   // reads, never answers
        defer { server.stop() }
        let loop = EventLoop(name: "memcached mismatch test")
        var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(server.port)")
        configuration.connectionsPerServer = 1
        let client = try MemcachedClient(configuration: configuration, group: EventLoopGroup([loop]))
        defer { client.close() }
        let connection = try await client.nodes[0].connection(deadline: .after(.seconds(20)))
        let hold = DispatchSemaphore(value: 0)
        loop.execute { hold.wait() }
        let key = bytes("k")
        let tasks = (0..<3).map { _ in
            Task {
                try await connection.send(expecting: .items([key]), deadline: .after(.seconds(10))) { buffer in
                    MemcachedEncoder.encodeValidated(.get(keys: ["k"]), keys: [key], into: &buffer)
                }
            }
        }
        do {
            try await eventually("three requests queued") { connection.pendingCount == 3 }
        } catch {
            hold.signal()
            throw error
        }
        bytes("STORED\r\nVALUE k 0 1\r\nB\r\nEND\r\n").withUnsafeBytes { connection.received($0) }
        bytes("VALUE k 0 1\r\nC\r\nEND\r\n").withUnsafeBytes { connection.received($0) }
        #expect(connection.isClosed, "the connection is marked closed at once")
        hold.signal()
        for task in tasks {
            switch await task.result {
            case .success(let reply):
                Issue.record("a waiter received \(reply) after the stream went out of step")
            case .failure(let error):
                #expect((error as? SessionError)?.code == .protocolError, "\(error)")
            }
        }
    }

    /// The scripted-server form: one write holding a reply of the wrong kind for the first
    /// request, then (over 256 KiB, so more than one read) valid replies for the others.
    @Test("a mismatched reply followed in the same write by more replies: none reaches a later waiter")
    func mismatchInOneLargeWrite() async throws {
        let server = try BurstMemcached(lines: 3) { requests in
            let keys = requests.map { $0.split(separator: " ").last.map(String.init) ?? "" }
            guard keys.count == 3 else { return [] }
            var reply = Array("STORED\r\n".utf8)
            reply += Array("VALUE \(keys[1]) 0 300000\r\n".utf8) + [UInt8](repeating: 0x62, count: 300_000) + Array("\r\nEND\r\n".utf8)
            reply += Array("VALUE \(keys[2]) 0 1\r\nc\r\nEND\r\n".utf8)
            return [reply]
        }
        defer { server.stop() }
        var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(server.port)")
        configuration.connectionsPerServer = 1
        let client = try MemcachedClient(configuration: configuration)
        defer { client.close() }
        let results = try await withDeadline(.seconds(30), "three gets against a desynchronising server") {
            await withTaskGroup(of: Result<MemcachedItem?, any Error>.self) { group in
                for key in ["a", "b", "c"] {
                    group.addTask {
                        do { return .success(try await client.get(key)) } catch { return .failure(error) }
                    }
                }
                var all: [Result<MemcachedItem?, any Error>] = []
                for await result in group { all.append(result) }
                return all
            }
        }
        for result in results {
            switch result {
            case .success(let item):
                Issue.record("a get completed with \(String(describing: item?.key)) after the stream went out of step")
            case .failure(let error):
                #expect(error is SessionError, "\(error)")
            }
        }
    }

    static let floods: [String] = ["k", "other"]

    /// A single-key get answered with thousands of VALUE blocks (for the requested key again and
    /// again, or for a key never asked for), trickled out: the client must give up at the first
    /// block it cannot accept, not buffer megabytes first.
    @Test("a single-key get flooded with VALUE blocks fails fast with protocolError", arguments: floods)
    func floodedGetFailsFast(_ floodKey: String) async throws {
        let blocks = 5000, blockSize = 1000, perChunk = 25
        // The flood is built before the client asks (building 5 MB takes a while in a debug or
        // sanitizer build, and would otherwise eat into the client's command timeout).
        var block = Array("VALUE \(floodKey) 0 \(blockSize)\r\n".utf8)
        block += [UInt8](repeating: 0x78, count: blockSize) + Array("\r\n".utf8)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(block.count * perChunk)
        for _ in 0..<perChunk { chunk.append(contentsOf: block) }
        let flood = [[UInt8]](repeating: chunk, count: blocks / perChunk) + [Array("END\r\n".utf8)]
        let server = try BurstMemcached(lines: 1, pause: 1000) { _ in flood }
        defer { server.stop() }
        // "Fast" is measured in bytes (below): the client must hang up after a small part of
        // the flood. The command timeout only bounds a broken client, and is generous because a
        // Thread Sanitizer build processes the first reads many times slower.
        var configuration = try MemcachedConfiguration(testing: "memcached://127.0.0.1:\(server.port)")
        configuration.commandTimeout = .seconds(45)
        let client = try MemcachedClient(configuration: configuration)
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) {
            _ = try await withDeadline(.seconds(60), "a flooded get") { try await client.get("k") }
        }
        #expect(error?.code == .protocolError, "\(String(describing: error))")
        try await eventually("the fake server finished", within: .seconds(60)) { server.outcome.withLock { $0.done } }
        let outcome = server.outcome.withLock { $0 }
        let total = blocks * (blockSize + 20)
        #expect(!outcome.sentEverything, "the client read the whole flood (\(outcome.sent) bytes) instead of hanging up")
        #expect(outcome.sent < total / 4, "the server got \(outcome.sent) of \(total) bytes out before the client hung up")
    }

    /// Items of a multi-item reply are consumed as each completes: a reply trickling in is not
    /// re-parsed and re-copied from its start on every read.
    @Test("the parser consumes each complete item of a get reply at once")
    func parserConsumesItemsAsTheyComplete() throws {
        var parser = MemcachedParser()
        let value = [UInt8](repeating: 0x61, count: 10_000)
        parser.append(Array("VALUE a 0 10000\r\n".utf8) + value + Array("\r\nVALUE b 0 10000\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedCount < 100, "the complete first item is consumed (\(parser.bufferedCount) bytes still buffered)")
        parser.append(value + Array("\r\nEND\r\nSTORED\r\n".utf8))
        let reply = try parser.next()
        #expect(reply == .values([MemcachedItem(key: "a", value: value, flags: 0, cas: nil), MemcachedItem(key: "b", value: value, flags: 0, cas: nil)]))
        #expect(try parser.next() == .stored)
        #expect(parser.bufferedCount == 0)
    }

    @Test("the same reply split at every byte parses the same, with and without expected keys")
    func parserResumesAtAnySplit() throws {
        let wire = Array("VALUE a 1 3 7\r\nabc\r\nVALUE c 2 0\r\n\r\nEND\r\nSERVER_ERROR x\r\n".utf8)
        let expected: [MemcachedReply] = [
            .values([MemcachedItem(key: "a", value: bytes("abc"), flags: 1, cas: 7), MemcachedItem(key: "c", value: [], flags: 2, cas: nil)]),
            .serverError("x"),
        ]
        for split in 0...wire.count {
            var parser = MemcachedParser()
            var replies: [MemcachedReply] = []
            parser.append(wire[..<split])
            while let reply = try parser.next() { replies.append(reply) }
            parser.append(wire[split...])
            while let reply = try parser.next() { replies.append(reply) }
            #expect(replies == expected, "split at \(split)")
        }
    }

    @Test("with the requested keys known, an unrequested key or one item too many fails at its VALUE line")
    func parserChecksRequestedKeys() throws {
        let keys = [bytes("a"), bytes("b")]
        var parser = MemcachedParser()
        parser.append(bytes("VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n"))
        #expect(try parser.next(expectingKeys: keys) == .values([MemcachedItem(key: "a", value: bytes("x")), MemcachedItem(key: "b", value: bytes("y"))]))
        for wire in ["VALUE a 0 1\r\nx\r\nVALUE a 0 1000000\r\n", "VALUE zz 0 1000000\r\n", "VALUE b 0 1\r\ny\r\nVALUE a 0 5\r\n"] {
            var parser = MemcachedParser()
            parser.append(bytes(wire))
            let error = #expect(throws: SessionError.self, "\(wire.debugDescription)") { _ = try parser.next(expectingKeys: keys) }
            #expect(error?.code == .protocolError)
        }
        var lineOnly = MemcachedParser()
        lineOnly.append(bytes("VALUE a 0 5\r\n"))
        #expect(throws: SessionError.self, "a VALUE block answering a non-get command fails at once") { _ = try lineOnly.next(expectingKeys: []) }
    }
}
