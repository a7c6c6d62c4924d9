import SessionKit
@testable import SessionKitMemcached
import Testing

/// The parser resumes where it stopped: items of a get reply leave the buffer as they
/// complete, a line still arriving is not scanned again from its start, and an item or meta
/// header whose value is still arriving is parsed once, so the work grows with the bytes.
@Suite("memcached parser: resuming, linear work, bounded buffer")
struct MemcachedParserResumeTests {
    static func getReply(items count: Int) -> [UInt8] {
        var wire: [UInt8] = []
        for index in 0..<count {
            wire += Array("VALUE session:\(String(format: "%06d", index)) 0 20\r\n\(String(format: "%020d", index))\r\n".utf8)
        }
        return wire + Array("END\r\n".utf8)
    }

    /// Feeds `wire` one byte at a time; stops early once the work passes 4 bytes per byte.
    static func trickle(_ wire: [UInt8], limits: MemcachedParser.Limits = .init()) throws -> (replies: [MemcachedReply], examined: Int) {
        var parser = MemcachedParser(limits: limits)
        var replies: [MemcachedReply] = []
        for index in wire.indices {
            parser.append(wire[index...index])
            while let reply = try parser.next() { replies.append(reply) }
            if parser.bytesExamined > 4 * wire.count { break }
        }
        return (replies, parser.bytesExamined)
    }

    @Test("bytes examined grow linearly: a get reply of N items fed one byte at a time", arguments: [1_000, 8_000])
    func linearWorkForAGetReply(_ count: Int) throws {
        let wire = Self.getReply(items: count)
        let (replies, examined) = try Self.trickle(wire)
        print("memcached get reply of \(count) items, \(wire.count) bytes fed one at a time: \(examined) bytes examined (\(Double(examined) / Double(wire.count))x)")
        #expect(examined <= 4 * wire.count, "\(examined) bytes examined for \(wire.count) bytes")
        guard case .values(let items)? = replies.first else {
            Issue.record("no get reply: \(replies.count) replies")
            return
        }
        #expect(items.count == count)
        #expect(items.last?.value == Array(String(format: "%020d", count - 1).utf8))
    }

    @Test("a long line, and a value behind a long meta line, trickling in are parsed once", arguments: [2_000, 8_000])
    func linearWorkForLinesAndValues(_ length: Int) throws {
        let line = Array(("SERVER_ERROR " + String(repeating: "x", count: length) + "\r\n").utf8)
        let flags = "t59 k" + String(repeating: "a", count: length)
        let value = [UInt8](repeating: 13, count: 100_000)
        let meta = Array("VA \(value.count) \(flags)\r\n".utf8) + value + [13, 10]
        let item = Array("VALUE k 0 \(value.count)\r\n".utf8) + value + Array("\r\nEND\r\n".utf8)
        for (name, wire, expected) in [
            ("SERVER_ERROR line", line, MemcachedReply.serverError(String(repeating: "x", count: length))),
            ("VA reply", meta, .meta(MemcachedMetaReply(status: .value, flags: ["t59", "k" + String(repeating: "a", count: length)], value: value))),
            ("VALUE item", item, .values([MemcachedItem(key: "k", value: value)])),
        ] {
            let (replies, examined) = try Self.trickle(wire)
            print("memcached \(name) of \(wire.count) bytes fed one at a time: \(examined) bytes examined")
            #expect(replies == [expected], "\(name)")
            #expect(examined <= 4 * wire.count, "\(name): \(examined) bytes examined for \(wire.count) bytes")
        }
    }

    @Test("the buffered-bytes bound refuses a value too big to hold, never a long get reply of small items")
    func bufferedBytesBound() throws {
        var limits = MemcachedParser.Limits()
        limits.maximumBufferedBytes = 512
        let wire = Self.getReply(items: 10_000)
        var parser = MemcachedParser(limits: limits)
        var replies: [MemcachedReply] = []
        var offset = 0
        while offset < wire.count {
            let end = min(offset + 65536, wire.count)
            parser.append(wire[offset..<end])
            offset = end
            while let reply = try parser.next() { replies.append(reply) }
            #expect(parser.bufferedCount <= 60)
        }
        #expect(replies.count == 1)

        var big = MemcachedParser(limits: limits)
        big.append(Array("VALUE k 0 1000\r\n".utf8) + [UInt8](repeating: 65, count: 400))
        #expect(try big.next() == nil)
        big.append([UInt8](repeating: 65, count: 200))
        let error = #expect(throws: SessionError.self) { try big.next() }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("maximumBufferedBytes") == true, "\(String(describing: error))")

        // The default follows the other limits: one line and one value at the limit.
        #expect(MemcachedParser.Limits().maximumBufferedBytes == 8192 + 1024 * 1024 + 4)
        #expect(MemcachedParser.Limits(maximumValueLength: 4 << 20).maximumBufferedBytes == 8192 + (4 << 20) + 4)
    }
}
