import SessionKit
import SessionKitRedis

/// Fuzz target `resp`: ``RESPParser`` (RESP2 and RESP3 replies).
///
/// Input: byte 0 picks the limits (bit 7 set: the defaults; clear: small limits, so every
/// limit can be reached) and where the input is split; the rest is the byte stream.
///
/// Checks: the stream fed whole, fed in two pieces split at the chosen byte, and (when short)
/// fed one byte at a time gives the same replies, then the same end (the same error, or the
/// same number of bytes left waiting); an error is sticky; every reply is re-encoded as RESP3,
/// parses back to an equal reply with nothing left over and re-encodes to the same bytes, and
/// all replies re-encoded together parse back to the same list.
enum RESPFuzz {
    static let smallLimits = RESPParser.Limits(maxBulkLength: 300, maxAggregateCount: 24, maxDepth: 6, maxLineLength: 80)

    enum End: Equatable {
        case needsMore(buffered: Int)
        case failed(String)
    }

    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        guard let control = data.first else { return }
        let limits = control & 0x80 != 0 ? RESPParser.Limits() : smallLimits
        let input = Array(data.dropFirst())
        let whole = parse([input[...]], limits)
        let split = Int(control & 0x7F) * 37 % (input.count + 1)
        let twoPieces = parse([input[..<split], input[split...]], limits)
        try fuzzCheck(
            twoPieces.replies == whole.replies && twoPieces.end == whole.end,
            "split at \(split) gives \(twoPieces), whole gives \(whole) for \(fuzzDescribe(input))")
        if input.count <= 300 {
            let byteByByte = parse(input.indices.map { input[$0...$0] }, limits)
            try fuzzCheck(
                byteByByte.replies == whole.replies && byteByByte.end == whole.end,
                "one byte at a time gives \(byteByByte), whole gives \(whole) for \(fuzzDescribe(input))")
        }

        var all: [UInt8] = []
        for reply in whole.replies {
            guard let encoded = encode(reply) else { continue }
            all += encoded
            let again = parse([encoded[...]], RESPParser.Limits())
            try fuzzCheck(
                again.replies == [reply] && again.end == .needsMore(buffered: 0),
                "re-encoded \(reply) as \(fuzzDescribe(encoded)) parses as \(again)")
            try fuzzCheck(again.replies.first.flatMap(encode) == encoded, "re-encoding \(reply) is not stable")
        }
        if whole.replies.allSatisfy({ encode($0) != nil }) {
            let again = parse([all[...]], RESPParser.Limits())
            try fuzzCheck(again.replies == whole.replies && again.end == .needsMore(buffered: 0), "replies re-encoded together parse as \(again)")
        }
    }

    /// Feeds `pieces` in order, taking every complete reply after each; stops at an error.
    static func parse(_ pieces: [ArraySlice<UInt8>], _ limits: RESPParser.Limits) -> (replies: [RESPValue], end: End) {
        var parser = RESPParser(limits: limits)
        var replies: [RESPValue] = []
        for piece in pieces {
            parser.append(piece)
            do {
                while let reply = try parser.next() { replies.append(reply) }
            } catch {
                let message = "\(error)"
                // After an error every call fails the same way.
                let repeated: String
                do {
                    repeated = "no error but \(String(describing: try parser.next()))"
                } catch {
                    repeated = "\(error)"
                }
                return (replies, .failed(repeated == message ? message : "not sticky: \(message) then \(repeated)"))
            }
        }
        return (replies, .needsMore(buffered: parser.bufferedByteCount))
    }

    /// `value` in RESP3, or nil when it cannot be written so that it reads back equal (a
    /// verbatim string whose format is not three bytes after UTF-8 decoding).
    static func encode(_ value: RESPValue) -> [UInt8]? {
        var out: [UInt8] = []
        return write(value, into: &out) ? out : nil
    }

    static func write(_ value: RESPValue, into out: inout [UInt8]) -> Bool {
        func line(_ type: Character, _ text: String) {
            out.append(type.asciiValue!)
            out += text.utf8
            out += [13, 10]
        }
        func blob(_ type: Character, _ bytes: [UInt8]) {
            line(type, String(bytes.count))
            out += bytes
            out += [13, 10]
        }
        func aggregate(_ type: Character, _ items: [RESPValue]) -> Bool {
            line(type, String(items.count))
            return items.allSatisfy { write($0, into: &out) }
        }
        switch value {
        case .simpleString(let text): line("+", text)
        case .error(let text): blob("!", Array(text.utf8))
        case .integer(let number): line(":", String(number))
        case .bulkString(let bytes): blob("$", bytes)
        case .null: line("_", "")
        case .array(let items): return aggregate("*", items)
        case .double(let number):
            line(",", number.isNaN ? "nan" : number == .infinity ? "inf" : number == -.infinity ? "-inf" : "\(number)")
        case .boolean(let flag): line("#", flag ? "t" : "f")
        case .bigNumber(let digits): line("(", digits)
        case .verbatimString(let format, let text):
            guard format.utf8.count == 3 else { return false }
            blob("=", Array(format.utf8) + [UInt8(ascii: ":")] + text)
        case .map(let pairs):
            line("%", String(pairs.count))
            return pairs.allSatisfy { write($0.key, into: &out) && write($0.value, into: &out) }
        case .set(let items): return aggregate("~", items)
        case .push(let items): return aggregate(">", items)
        }
        return true
    }
}
