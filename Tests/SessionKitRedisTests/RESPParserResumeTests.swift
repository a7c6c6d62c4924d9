import SessionKit
@testable import SessionKitRedis
import Testing

/// The parser resumes where it stopped: a reply arriving in tiny reads is parsed once, its
/// complete elements leave the buffer, and the work grows with the bytes, not with the
/// number of reads times the bytes so far (which a parser restarting each incomplete reply
/// from its first byte costs).
@Suite("RESP parser: resuming, linear work, bounded buffer")
struct RESPParserResumeTests {
    /// A seeded reply of `count` elements of every kind, nested, with bulk strings holding
    /// CR and LF, and attributes (which the parser drops) in front of some elements.
    static func largeReply(count: Int, seed: UInt64) -> (wire: [UInt8], value: RESPValue) {
        var generator = SplitMix64(seed: seed)
        var wire = Array("*\(count)\r\n".utf8)
        var elements: [RESPValue] = []
        func bulk() -> [UInt8] {
            (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                [UInt8(13), 10, 36, 42, 120][Int.random(in: 0..<5, using: &generator)]
            }
        }
        for index in 0..<count {
            let element: RESPValue
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: element = .bulkString(bulk())
            case 1: element = .simpleString("OK \(index)")
            case 2: element = .integer(Int64.random(in: .min ... .max, using: &generator))
            case 3: element = .null
            case 4: element = .array([.integer(1), .bulkString(bulk()), .array([.null, .simpleString("deep")])])
            case 5: element = .map([(.simpleString("k"), .bulkString(bulk())), (.integer(2), .set([.boolean(true)]))])
            case 6: element = .verbatimString(format: "txt", text: bulk())
            case 7: element = .double(Double(index) / 8)
            case 8: element = .error("ERR number \(index)")
            default: element = .bigNumber("-1234567890123456789012345678901234567890")
            }
            if index % 7 == 0 {
                // An attribute annotating the element: parsed and dropped.
                wire += Array("|1\r\n+ttl\r\n*2\r\n:3\r\n$4\r\na\r\nb\r\n".utf8)
            }
            wire += RESPFuzz.encode(element)!
            elements.append(element)
        }
        return (wire, .array(elements))
    }

    @Test("a large reply fed one byte at a time parses to the value it has fed whole, holding one element at most")
    func largeReplyByteByByte() throws {
        let (wire, expected) = Self.largeReply(count: 1500, seed: 0x19)
        var whole = RESPParser()
        whole.append(wire)
        #expect(try whole.next() == expected)
        #expect(whole.bufferedByteCount == 0)

        var parser = RESPParser()
        var result: RESPValue?
        var mostUnparsed = 0
        var mostStored = 0
        for index in wire.indices {
            parser.append(wire[index...index])
            if let value = try parser.next() {
                #expect(index == wire.count - 1, "the reply completed early, at byte \(index) of \(wire.count)")
                result = value
            } else {
                #expect(parser.bufferedByteCount == index + 1, "every byte fed is either consumed into the reply or held")
                mostUnparsed = max(mostUnparsed, parser.unparsedByteCount)
                mostStored = max(mostStored, parser.storedByteCount)
                // A parser that holds the whole reply until it completes fails here, fast.
                if mostUnparsed > 310 { break }
            }
        }
        #expect(result == expected)
        #expect(try parser.next() == nil)
        // Bulk strings of the reply are at most 300 bytes: one of them, its header and CRLF
        // is all the parser ever holds unparsed, and consumed bytes leave the buffer.
        #expect(mostUnparsed <= 310, "held \(mostUnparsed) bytes unparsed")
        #expect(mostStored <= 128 * 1024, "the buffer grew to \(mostStored) bytes for a \(wire.count)-byte reply")
        #expect(wire.count > 100_000)
    }

    @Test("bytes examined grow linearly: an array of N bulk strings fed one byte at a time", arguments: [2_000, 20_000])
    func linearWorkForAnArray(_ count: Int) throws {
        var wire = Array("*\(count)\r\n".utf8)
        for index in 0..<count { wire += Array("$8\r\n\(String(format: "%08d", index))\r\n".utf8) }
        var parser = RESPParser()
        var result: RESPValue?
        for index in wire.indices {
            parser.append(wire[index...index])
            if let value = try parser.next() { result = value }
            // A parser that starts over costs quadratic work; stop as soon as it shows.
            if parser.bytesExamined > 4 * wire.count { break }
        }
        print("RESP array of \(count) bulk strings, \(wire.count) bytes fed one at a time: \(parser.bytesExamined) bytes examined (\(Double(parser.bytesExamined) / Double(wire.count))x)")
        #expect(parser.bytesExamined <= 4 * wire.count, "\(parser.bytesExamined) bytes examined for \(wire.count) bytes")
        #expect(result.flatMap { if case .array(let items) = $0 { items.count } else { nil } } == count)
    }

    @Test("a long line and a large bulk string trickling in are not scanned again from their start", arguments: [8_000, 60_000])
    func linearWorkForALineAndABulkString(_ length: Int) throws {
        let line = Array(("+" + String(repeating: "x", count: length) + "\r\n").utf8)
        let payload = [UInt8](repeating: 13, count: length * 4)
        let bulk = Array("$\(payload.count)\r\n".utf8) + payload + [13, 10]
        for wire in [line, bulk] {
            var parser = RESPParser()
            var replies = 0
            for index in wire.indices {
                parser.append(wire[index...index])
                if try parser.next() != nil { replies += 1 }
                if parser.bytesExamined > 4 * wire.count { break }
            }
            print("RESP \(wire == line ? "line" : "bulk string") of \(wire.count) bytes fed one at a time: \(parser.bytesExamined) bytes examined")
            #expect(replies == 1)
            #expect(parser.bytesExamined <= 4 * wire.count, "\(parser.bytesExamined) bytes examined for \(wire.count) bytes")
        }
    }

    @Test("a line of exactly maxLineLength bytes parses however it is split; one byte more is refused however it is split")
    func lineAtTheLimit() throws {
        let limits = RESPParser.Limits(maxLineLength: 100)
        let atLimit = Array(("+" + String(repeating: "a", count: 100) + "\r\n").utf8)
        let over = Array(("+" + String(repeating: "a", count: 101) + "\r\n").utf8)
        for split in 0...atLimit.count {
            var parser = RESPParser(limits: limits)
            parser.append(atLimit[..<split])
            #expect(try parser.next() == nil || split == atLimit.count)
            parser.append(atLimit[split...])
            if split < atLimit.count { #expect(try parser.next() == .simpleString(String(repeating: "a", count: 100)), "split at \(split)") }
        }
        var trickled = RESPParser(limits: limits)
        var value: RESPValue?
        for index in atLimit.indices {
            trickled.append(atLimit[index...index])
            if let reply = try trickled.next() { value = reply }
        }
        #expect(value == .simpleString(String(repeating: "a", count: 100)))
        for split in 0...over.count {
            var parser = RESPParser(limits: limits)
            #expect(throws: SessionError.self, "split at \(split)") {
                parser.append(over[..<split])
                _ = try parser.next()
                parser.append(over[split...])
                _ = try parser.next()
            }
        }
    }

    @Test("the buffered-bytes bound refuses an element too big to hold, never a long array of small ones")
    func bufferedBytesBound() throws {
        let limits = RESPParser.Limits(maxBufferedBytes: 1024)
        // 100,000 elements (1.4 MB) in 64 KiB reads: complete elements leave the buffer.
        var wire = Array("*100000\r\n".utf8)
        for index in 0..<100_000 { wire += Array("$8\r\n\(String(format: "%08d", index))\r\n".utf8) }
        var parser = RESPParser(limits: limits)
        var result: RESPValue?
        var offset = 0
        while offset < wire.count {
            let end = min(offset + 65536, wire.count)
            parser.append(wire[offset..<end])
            offset = end
            if let value = try parser.next() { result = value }
            #expect(parser.unparsedByteCount <= 14)
        }
        #expect(result.flatMap { if case .array(let items) = $0 { items.count } else { nil } } == 100_000)

        // One bulk string of 2000 bytes cannot fit in 1024 bytes: refused once it is over.
        var big = RESPParser(limits: limits)
        big.append(Array("$2000\r\n".utf8) + [UInt8](repeating: 65, count: 1000))
        #expect(try big.next() == nil)
        big.append([UInt8](repeating: 65, count: 100))
        let error = #expect(throws: SessionError.self) { try big.next() }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("maxBufferedBytes") == true, "\(String(describing: error))")

        // The default follows the other limits: one bulk string at the limit and one line.
        #expect(RESPParser.Limits().maxBulkLength == 4 * 1024 * 1024 + 64 * 1024)
        #expect(RESPParser.Limits().maxBufferedBytes == 4 * 1024 * 1024 + 64 * 1024 + 64 * 1024 + 4)
        var raised = RESPParser.Limits()
        raised.maxBulkLength = 16 * 1024 * 1024
        #expect(raised.maxBufferedBytes == 16 * 1024 * 1024 + 64 * 1024 + 4)
    }
}
