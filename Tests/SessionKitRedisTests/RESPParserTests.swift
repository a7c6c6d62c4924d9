import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses everything in `input`, fed in one piece.
private func parseAll(_ input: [UInt8], limits: RESPParser.Limits = .init()) throws -> [RESPValue] {
    var parser = RESPParser(limits: limits)
    parser.append(input)
    var values: [RESPValue] = []
    while let value = try parser.next() { values.append(value) }
    #expect(parser.bufferedByteCount == 0)
    return values
}

private func expectProtocolError(_ input: [UInt8], limits: RESPParser.Limits = .init(), _ comment: Comment? = nil) {
    var parser = RESPParser(limits: limits)
    parser.append(input)
    do {
        while try parser.next() != nil {}
        Issue.record("expected a protocol error for \(String(decoding: input.prefix(60), as: UTF8.self).debugDescription)")
    } catch let error as SessionError {
        #expect(error.code == .protocolError || error.code == .unsupported, "\(error)")
        // The parser stays failed: the stream is out of step.
        #expect(throws: SessionError.self) { try parser.next() }
    } catch {
        Issue.record("unexpected error type \(error)")
    }
}

/// Every reply type, as exact bytes, with the value it must parse to.
let replyVectors: [(String, RESPValue)] = [
    ("+OK\r\n", .simpleString("OK")),
    ("+\r\n", .simpleString("")),
    ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
    ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
    (":0\r\n", .integer(0)),
    (":-42\r\n", .integer(-42)),
    (":+7\r\n", .integer(7)),
    (":9223372036854775807\r\n", .integer(.max)),
    (":-9223372036854775807\r\n", .integer(-.max)),
    ("$3\r\nfoo\r\n", .bulkString(bytes("foo"))),
    ("$0\r\n\r\n", .bulkString([])),
    ("$-1\r\n", .null),
    ("$8\r\na\r\nb\r\n\r\n\r\n", .bulkString(bytes("a\r\nb\r\n\r\n"))),
    ("*0\r\n", .array([])),
    ("*-1\r\n", .null),
    ("*2\r\n:3\r\n+foo\r\n", .array([.integer(3), .simpleString("foo")])),
    ("*3\r\n$1\r\na\r\n$-1\r\n*1\r\n*0\r\n", .array([.bulkString(bytes("a")), .null, .array([.array([])])])),
    ("_\r\n", .null),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    (",3.25\r\n", .double(3.25)),
    (",-1.5e3\r\n", .double(-1500)),
    (",10\r\n", .double(10)),
    (",inf\r\n", .double(.infinity)),
    (",-inf\r\n", .double(-.infinity)),
    (",nan\r\n", .double(.nan)),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("(-12\r\n", .bigNumber("-12")),
    ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
    ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: bytes("Some string"))),
    ("=4\r\nmkd:\r\n", .verbatimString(format: "mkd", text: [])),
    ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n", .map([(.simpleString("first"), .integer(1)), (.bulkString(bytes("second")), .boolean(false))])),
    ("%0\r\n", .map([])),
    ("~3\r\n+a\r\n:1\r\n_\r\n", .set([.simpleString("a"), .integer(1), .null])),
    (">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n", .push([.simpleString("message"), .simpleString("chan"), .bulkString(bytes("hi"))])),
    ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:42\r\n", .integer(42)),
    ("*1\r\n|1\r\n+ttl\r\n:3\r\n$1\r\nx\r\n", .array([.bulkString(bytes("x"))])),
]

@Suite("RESP parser")
struct RESPParserTests {
    @Test("every reply type parses to the expected value", arguments: replyVectors.indices)
    func vector(_ index: Int) throws {
        let (wire, expected) = replyVectors[index]
        let values = try parseAll(bytes(wire))
        #expect(values == [expected], "\(wire.debugDescription)")
    }

    @Test("a reply split at every byte parses the same, and nothing is consumed early", arguments: replyVectors.indices)
    func everySplitPoint(_ index: Int) throws {
        let (wire, expected) = replyVectors[index]
        let input = bytes(wire)
        for split in 0...input.count {
            var parser = RESPParser()
            parser.append(input[..<split])
            if split < input.count {
                #expect(try parser.next() == nil, "split at \(split) of \(wire.debugDescription) returned a value early")
                #expect(parser.bufferedByteCount == split)
            }
            parser.append(input[split...])
            #expect(try parser.next() == expected, "split at \(split) of \(wire.debugDescription)")
            #expect(try parser.next() == nil)
            #expect(parser.bufferedByteCount == 0)
        }
    }

    @Test("every reply fed one byte at a time")
    func byteByByte() throws {
        let stream = replyVectors.flatMap { bytes($0.0) }
        var parser = RESPParser()
        var values: [RESPValue] = []
        for byte in stream {
            parser.append([byte])
            while let value = try parser.next() { values.append(value) }
        }
        #expect(values == replyVectors.map(\.1))
    }

    @Test("many replies in one read, and any two-way split of the whole stream")
    func manyPerRead() throws {
        let stream = replyVectors.flatMap { bytes($0.0) }
        #expect(try parseAll(stream) == replyVectors.map(\.1))
        for split in stride(from: 0, through: stream.count, by: 3) {
            var parser = RESPParser()
            var values: [RESPValue] = []
            parser.append(stream[..<split])
            while let value = try parser.next() { values.append(value) }
            parser.append(stream[split...])
            while let value = try parser.next() { values.append(value) }
            #expect(values == replyVectors.map(\.1), "split at \(split)")
        }
    }

    @Test("seeded random chunking of a long stream")
    func randomChunks() throws {
        var generator = SplitMix64(seed: 0x5E55_10E)
        var stream: [UInt8] = []
        var expected: [RESPValue] = []
        for _ in 0..<2000 {
            let index = Int.random(in: 0..<replyVectors.count, using: &generator)
            stream += bytes(replyVectors[index].0)
            expected.append(replyVectors[index].1)
        }
        var parser = RESPParser()
        var values: [RESPValue] = []
        var offset = 0
        while offset < stream.count {
            let length = min(Int.random(in: 1...64, using: &generator), stream.count - offset)
            parser.append(stream[offset..<(offset + length)])
            offset += length
            while let value = try parser.next() { values.append(value) }
        }
        #expect(values == expected)
    }

    @Test("a large bulk string arriving in pieces")
    func largeBulk() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let wire = bytes("$\(payload.count)\r\n") + payload + bytes("\r\n")
        var parser = RESPParser()
        var offset = 0
        var result: RESPValue?
        while offset < wire.count {
            let end = min(offset + 65536, wire.count)
            parser.append(wire[offset..<end])
            offset = end
            if let value = try parser.next() { result = value }
        }
        #expect(result == .bulkString(payload))
    }

    // MARK: Malformed and hostile input

    static let malformed: [String] = [
        "?\r\n",                      // unknown type byte
        "\u{0}\r\n",
        "+OK\n",                      // LF without CR
        "+O\rK\r\n",                  // CR not followed by LF
        ":\r\n",                      // empty integer
        ":12a\r\n",
        ":-\r\n",
        ":99999999999999999999\r\n",  // 20 digits
        ":9223372036854775808\r\n",   // overflows Int64
        "$-2\r\n",                    // negative length other than -1
        "$-9223372036854775807\r\n",
        "$abc\r\n",
        "$3\r\nfooX\r\n",             // payload not followed by CRLF
        "$3\r\nfoo\n\r",
        "*-2\r\n",
        "*-100\r\n",
        "*1x\r\n",
        "~-1\r\n",                    // RESP3 aggregates have no -1 null
        "%-1\r\n",
        ">-1\r\n",
        "!-1\r\n",
        "_x\r\n",
        "#x\r\n",
        "#tt\r\n",
        ",\r\n",
        ",1.2.3x\r\n",
        ",abc\r\n",
        "(12x\r\n",
        "(\r\n",
        "=3\r\ntxt\r\n",               // verbatim shorter than "fmt:"
        "=4\r\ntxtx\r\n",              // no ':' after the format
        "$?\r\n;4\r\nHell\r\n;0\r\n", // streamed strings are refused
        "*?\r\n",
    ]

    @Test("malformed replies end in a clean protocol error", arguments: malformed)
    func malformedInput(_ wire: String) {
        expectProtocolError(bytes(wire))
    }

    @Test("lengths and counts over the limits are refused before any payload arrives")
    func hostileLengths() throws {
        let limits = RESPParser.Limits(maxBulkLength: 1024, maxAggregateCount: 100, maxDepth: 8, maxLineLength: 256)
        // Only the header is sent: the parser must refuse instead of waiting for (or reserving) the payload.
        expectProtocolError(bytes("$1025\r\n"), limits: limits)
        expectProtocolError(bytes("$9223372036854775807\r\n"), limits: limits)
        expectProtocolError(bytes("!1025\r\n"), limits: limits)
        expectProtocolError(bytes("=1025\r\n"), limits: limits)
        expectProtocolError(bytes("*101\r\n"), limits: limits)
        expectProtocolError(bytes("*9223372036854775807\r\n"), limits: limits)
        expectProtocolError(bytes("~101\r\n"), limits: limits)
        expectProtocolError(bytes(">101\r\n"), limits: limits)
        expectProtocolError(bytes("%51\r\n"), limits: limits)
        expectProtocolError(bytes("|51\r\n"), limits: limits)
        // At the limits, values still parse.
        let atLimit = bytes("$1024\r\n") + [UInt8](repeating: 120, count: 1024) + bytes("\r\n")
        #expect(try parseAll(atLimit, limits: limits) == [.bulkString([UInt8](repeating: 120, count: 1024))])
        let hundred = bytes("*100\r\n") + Array(repeating: bytes(":1\r\n"), count: 100).flatMap { $0 }
        #expect(try parseAll(hundred, limits: limits) == [.array(Array(repeating: .integer(1), count: 100))])
    }

    @Test("a huge announced count with little data is incomplete, not an allocation")
    func hugeCountIncomplete() throws {
        // Within the default limit, but the bytes are not there: parsing waits, holding only what arrived.
        var parser = RESPParser()
        parser.append(bytes("*1000000\r\n:1\r\n"))
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 14)
        var bulk = RESPParser(limits: .init(maxBulkLength: 500_000_000))
        bulk.append(bytes("$500000000\r\nabc"))
        #expect(try bulk.next() == nil)
        #expect(bulk.bufferedByteCount == 15)
        #expect(bulk.unparsedByteCount == 3, "the header is parsed once; only the payload so far is held")
    }

    @Test("deep nesting is refused at the depth limit")
    func deepNesting() throws {
        let limits = RESPParser.Limits(maxDepth: 32)
        let ok = bytes(String(repeating: "*1\r\n", count: 32) + ":1\r\n")
        var expected = RESPValue.integer(1)
        for _ in 0..<32 { expected = .array([expected]) }
        #expect(try parseAll(ok, limits: limits) == [expected])
        expectProtocolError(bytes(String(repeating: "*1\r\n", count: 33) + ":1\r\n"), limits: limits)
        // Far deeper than any stack could recurse: refused at the limit, even with the end unsent.
        expectProtocolError(bytes(String(repeating: "*1\r\n", count: 100_000)), limits: limits)
        expectProtocolError(bytes(String(repeating: "%1\r\n", count: 1_000)), limits: limits)
        expectProtocolError(bytes(String(repeating: "|1\r\n", count: 1_000)), limits: limits)
    }

    @Test("a line without CRLF longer than the limit is refused")
    func endlessLine() {
        let limits = RESPParser.Limits(maxLineLength: 100)
        expectProtocolError(bytes("+" + String(repeating: "a", count: 101)), limits: limits)
        expectProtocolError(bytes("-" + String(repeating: "a", count: 500)), limits: limits)
        expectProtocolError(bytes(":" + String(repeating: "1", count: 200)), limits: limits)
    }

    @Test("an incomplete line within the limit waits for more")
    func incompleteLineWaits() throws {
        var parser = RESPParser(limits: .init(maxLineLength: 100))
        parser.append(bytes("+" + String(repeating: "a", count: 99)))
        #expect(try parser.next() == nil)
        parser.append(bytes("\r\n"))
        #expect(try parser.next() == .simpleString(String(repeating: "a", count: 99)))
    }

    @Test("seeded random garbage never crashes: it parses or throws")
    func fuzzGarbage() {
        var generator = SplitMix64(seed: 42)
        let alphabet = bytes("+-:$*_#,(!=%~>|?\r\n0123456789-abcft.") + [0, 255]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let input = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            var parser = RESPParser(limits: .init(maxBulkLength: 64, maxAggregateCount: 16, maxDepth: 4, maxLineLength: 32))
            parser.append(input)
            do {
                while try parser.next() != nil {}
            } catch {
                #expect(error is SessionError)
            }
        }
    }

    @Test("mutations of valid replies never crash")
    func fuzzMutations() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<10_000 {
            var input = bytes(replyVectors[Int.random(in: 0..<replyVectors.count, using: &generator)].0)
            let position = Int.random(in: 0..<input.count, using: &generator)
            input[position] = UInt8.random(in: 0...255, using: &generator)
            var parser = RESPParser()
            parser.append(input)
            do {
                while try parser.next() != nil {}
            } catch {
                #expect(error is SessionError)
            }
        }
    }
}

/// A seeded, repeatable random number generator for tests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
