import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import Testing

@Suite("Memcached reply parser")
struct MemcachedParserTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Every reply kind, as bytes and what it parses to.
    static let vectors: [(String, MemcachedReply)] = [
        ("STORED\r\n", .stored),
        ("NOT_STORED\r\n", .notStored),
        ("EXISTS\r\n", .exists),
        ("NOT_FOUND\r\n", .notFound),
        ("DELETED\r\n", .deleted),
        ("TOUCHED\r\n", .touched),
        ("OK\r\n", .ok),
        ("END\r\n", .values([])),
        ("VALUE k 0 1\r\nv\r\nEND\r\n", .values([MemcachedItem(key: "k", value: bytes("v"))])),
        ("VALUE session:abc 4294967295 0\r\n\r\nEND\r\n", .values([MemcachedItem(key: "session:abc", value: [], flags: .max)])),
        ("VALUE k 7 7 18446744073709551615\r\n\r\nEND\r\n\r\nEND\r\n",
         .values([MemcachedItem(key: "k", value: bytes("\r\nEND\r\n"), flags: 7, cas: .max)])),
        ("VALUE a 1 2 10\r\nxy\r\nVALUE b 2 0 11\r\n\r\nEND\r\n",
         .values([MemcachedItem(key: "a", value: bytes("xy"), flags: 1, cas: 10), MemcachedItem(key: "b", value: [], flags: 2, cas: 11)])),
        ("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n", .serverError("out of memory writing get response")),
        ("ERROR\r\n", .error("")),
        ("ERROR unknown command\r\n", .error("unknown command")),
        ("CLIENT_ERROR bad data chunk\r\n", .clientError("bad data chunk")),
        ("SERVER_ERROR object too large for cache\r\n", .serverError("object too large for cache")),
        ("42\r\n", .number(42)),
        ("18446744073709551615\r\n", .number(.max)),
        ("VERSION 1.6.18\r\n", .version("1.6.18")),
        ("HD\r\n", .meta(MemcachedMetaReply(status: .headerOnly))),
        ("HD t-1 c123\r\n", .meta(MemcachedMetaReply(status: .headerOnly, flags: ["t-1", "c123"]))),
        ("VA 2 t59 Oabc\r\nhi\r\n", .meta(MemcachedMetaReply(status: .value, flags: ["t59", "Oabc"], value: bytes("hi")))),
        ("VA 0\r\n\r\n", .meta(MemcachedMetaReply(status: .value, value: []))),
        ("EN\r\n", .meta(MemcachedMetaReply(status: .end))),
        ("NF\r\n", .meta(MemcachedMetaReply(status: .notFound))),
        ("NS\r\n", .meta(MemcachedMetaReply(status: .notStored))),
        ("EX\r\n", .meta(MemcachedMetaReply(status: .exists))),
        ("MN\r\n", .meta(MemcachedMetaReply(status: .noop))),
    ]

    static func parseAll(_ chunks: [[UInt8]], limits: MemcachedParser.Limits = .init()) throws -> [MemcachedReply] {
        var parser = MemcachedParser(limits: limits)
        var replies: [MemcachedReply] = []
        for chunk in chunks {
            parser.append(chunk)
            while let reply = try parser.next() { replies.append(reply) }
        }
        #expect(parser.bufferedCount == 0)
        return replies
    }

    @Test("every reply kind parses, whole", arguments: vectors.indices)
    func whole(_ index: Int) throws {
        let (text, expected) = Self.vectors[index]
        #expect(try Self.parseAll([Self.bytes(text)]) == [expected])
    }

    @Test("every reply kind parses the same when split at every byte", arguments: vectors.indices)
    func splitAtEveryByte(_ index: Int) throws {
        let (text, expected) = Self.vectors[index]
        let data = Self.bytes(text)
        for cut in 0...data.count {
            var parser = MemcachedParser()
            parser.append(data[..<cut])
            if cut < data.count {
                #expect(try parser.next() == nil, "a reply cut at \(cut) of \(data.count) bytes is incomplete")
                if text.hasPrefix("VALUE") {
                    // A get reply's complete items are consumed as they arrive, nothing more.
                    #expect(parser.bufferedCount <= cut, "only complete items are consumed")
                } else {
                    #expect(parser.bufferedCount == cut, "nothing is consumed until the reply is complete")
                }
            }
            parser.append(data[cut...])
            #expect(try parser.next() == expected, "split at \(cut)")
            #expect(try parser.next() == nil)
        }
    }

    @Test("all replies back to back, fed one byte at a time and as two-way splits, parse in order")
    func pipelined() throws {
        let stream = Self.vectors.flatMap { Self.bytes($0.0) }
        let expected = Self.vectors.map(\.1)
        #expect(try Self.parseAll(stream.map { [$0] }) == expected)
        for cut in stride(from: 0, through: stream.count, by: 7) {
            #expect(try Self.parseAll([Array(stream[..<cut]), Array(stream[cut...])]) == expected)
        }
    }

    @Test("a large value arriving in many chunks is not preallocated and parses once complete")
    func largeValue() throws {
        let value = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = Self.bytes("VALUE big 0 \(value.count)\r\n") + value + Self.bytes("\r\nEND\r\n")
        var parser = MemcachedParser()
        var offset = 0
        var result: MemcachedReply?
        while offset < stream.count {
            let end = min(stream.count, offset + 4093)
            parser.append(stream[offset..<end])
            offset = end
            if let reply = try parser.next() { result = reply }
        }
        #expect(result == .values([MemcachedItem(key: "big", value: value)]))
    }

    /// Hostile or broken replies, each of which must throw protocolError (never crash, hang or
    /// allocate the announced size).
    static let hostile: [String] = [
        "BOGUS\r\n",
        "\r\n",
        "STORED extra\r\n",
        "STORED\n",
        "STO\rRED\r\n",
        "END\u{0}\r\n",
        "VALUE k 0 1\r\nvv\r\nEND\r\n",                   // data longer than announced
        "VALUE k 0 3\r\nv\r\nEND\r\n",                     // shorter: CRLF not where announced
        "VALUE k 0 99999999999\r\n",                       // length beyond Int32
        "VALUE k 0 2000000\r\n",                           // over the value limit: refused before any data
        "VALUE k 0 -1\r\n",
        "VALUE k x 1\r\nv\r\nEND\r\n",
        "VALUE k 4294967296 1\r\nv\r\nEND\r\n",            // flags over 32 bits
        "VALUE k 0 1 18446744073709551616\r\nv\r\nEND\r\n", // CAS over 64 bits
        "VALUE k 0\r\n",
        "VALUE k 0 1 2 3\r\nv\r\nEND\r\n",
        "VALUE a\u{7F}b 0 1\r\nv\r\nEND\r\n",
        "VALUE k 0 1\r\nv\r\nSTORED\r\n",                  // not VALUE/END inside a get reply
        "VALUE k 0 1\r\nv\r\nEND extra\r\n",
        "99999999999999999999999\r\n",
        "12a\r\n",
        "VERSION\r\n",
        "VA x\r\n",
        "VA 5000000 t1\r\n",
        "EN extra\r\n",
        "HD 1bad\r\n",
        "ZZ\r\n",
    ]

    @Test("hostile replies end in a clean protocolError", arguments: hostile)
    func hostileReplies(_ text: String) throws {
        var parser = MemcachedParser()
        parser.append(Self.bytes(text))
        let error = #expect(throws: SessionError.self) {
            while try parser.next() != nil {}
        }
        #expect(error?.code == .protocolError)
        #expect(error?.message.isEmpty == false)
    }

    @Test("a line without CRLF longer than the limit throws instead of buffering forever")
    func endlessLine() throws {
        var parser = MemcachedParser(limits: .init(maximumLineLength: 64))
        parser.append([UInt8](repeating: 0x41, count: 40))
        #expect(try parser.next() == nil)
        parser.append([UInt8](repeating: 0x41, count: 40))
        let error = #expect(throws: SessionError.self) { try parser.next() }
        #expect(error?.code == .protocolError)
    }

    @Test("too many items in one reply throw")
    func tooManyItems() throws {
        var parser = MemcachedParser(limits: .init(maximumItemsPerReply: 3))
        parser.append(Self.bytes(String(repeating: "VALUE k 0 0\r\n\r\n", count: 4) + "END\r\n"))
        let error = #expect(throws: SessionError.self) { try parser.next() }
        #expect(error?.code == .protocolError)
    }

    @Test("seeded random replies split at random places parse like the whole stream", arguments: [1, 2, 3, 4] as [UInt64])
    func randomSplits(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        var expected: [MemcachedReply] = []
        var stream: [UInt8] = []
        for _ in 0..<200 {
            let count = Int.random(in: 0...3, using: &generator)
            var items: [MemcachedItem] = []
            var text: [UInt8] = []
            for i in 0..<count {
                let value = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let item = MemcachedItem(key: "key\(i)", value: value, flags: UInt32.random(in: 0...9, using: &generator), cas: Bool.random(using: &generator) ? UInt64.random(in: 0...UInt64.max, using: &generator) : nil)
                items.append(item)
                text += Self.bytes("VALUE \(item.key) \(item.flags) \(value.count)\(item.cas.map { " \($0)" } ?? "")\r\n") + value + Self.bytes("\r\n")
            }
            if Bool.random(using: &generator) {
                expected.append(.values(items))
                stream += text + Self.bytes("END\r\n")
            } else {
                let vector = Self.vectors[Int.random(in: 0..<Self.vectors.count, using: &generator)]
                expected.append(vector.1)
                stream += Self.bytes(vector.0)
            }
        }
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + Int.random(in: 1...97, using: &generator))
            chunks.append(Array(stream[offset..<end]))
            offset = end
        }
        #expect(try Self.parseAll(chunks) == expected)
    }
}

/// A small seeded generator for repeatable random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
