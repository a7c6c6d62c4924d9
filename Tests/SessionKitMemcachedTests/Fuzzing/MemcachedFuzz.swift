import SessionKit
import SessionKitMemcached

/// Fuzz target `memcached`: ``MemcachedParser`` (text and meta protocol replies).
///
/// Input: byte 0 picks the limits (bit 7 set: the defaults; clear: small limits), whether
/// the parser is told the requested keys (bit 6: the keys `a`, `key`, `sess:1`, `a`) and
/// where the input is split; the rest is the byte stream.
///
/// Checks: the stream fed whole, fed in two pieces split at the chosen byte, and (when short)
/// fed one byte at a time gives the same replies, then the same end (an error with the same
/// code, or the same number of bytes left waiting); every reply respects the limits (value sizes, items
/// per reply, valid keys, only requested keys in request order); every reply is re-encoded
/// in memcached's wire format and parses back to an equal reply with nothing left over.
enum MemcachedFuzz {
    static let smallLimits = MemcachedParser.Limits(maximumLineLength: 100, maximumValueLength: 200, maximumItemsPerReply: 5)
    static let requestedKeys: [[UInt8]] = ["a", "key", "sess:1", "a"].map { Array($0.utf8) }

    enum End: Equatable {
        case needsMore(buffered: Int)
        case failed(String)
    }

    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        guard let control = data.first else { return }
        let limits = control & 0x80 != 0 ? MemcachedParser.Limits() : smallLimits
        let keys = control & 0x40 != 0 ? requestedKeys : nil
        let input = Array(data.dropFirst())
        let whole = parse([input[...]], limits, keys)
        let split = Int(control & 0x3F) * 41 % (input.count + 1)
        let twoPieces = parse([input[..<split], input[split...]], limits, keys)
        try fuzzCheck(
            twoPieces.replies == whole.replies && twoPieces.end == whole.end,
            "split at \(split) gives \(twoPieces), whole gives \(whole) for \(fuzzDescribe(input))")
        if input.count <= 300 {
            let byteByByte = parse(input.indices.map { input[$0...$0] }, limits, keys)
            try fuzzCheck(
                byteByByte.replies == whole.replies && byteByByte.end == whole.end,
                "one byte at a time gives \(byteByByte), whole gives \(whole) for \(fuzzDescribe(input))")
        }

        for reply in whole.replies {
            if case .values(let items) = reply {
                try fuzzCheck(items.count <= limits.maximumItemsPerReply, "\(items.count) items in one reply")
                for item in items {
                    try fuzzCheck(item.value.count <= limits.maximumValueLength, "a \(item.value.count)-byte value")
                    try fuzzCheck(MemcachedKey.isValid(bytes: Array(item.key.utf8)), "invalid key \(item.key.debugDescription)")
                }
                if let keys {
                    // Items name requested keys, in request order, each at most as often as requested.
                    var next = 0
                    for item in items {
                        let found = keys[next...].firstIndex { $0.elementsEqual(item.key.utf8) }
                        try fuzzCheck(found != nil, "item for \(item.key.debugDescription) not requested (or out of order) in \(items.map(\.key))")
                        next = found! + 1
                    }
                }
            }
            if case .meta(let meta) = reply, let value = meta.value {
                try fuzzCheck(value.count <= limits.maximumValueLength, "a \(value.count)-byte meta value")
            }
            let encoded = encode(reply)
            let again = parse([encoded[...]], MemcachedParser.Limits(), nil)
            try fuzzCheck(
                again.replies == [reply] && again.end == .needsMore(buffered: 0),
                "re-encoded \(reply) as \(fuzzDescribe(encoded)) parses as \(again)")
        }
    }

    /// Feeds `pieces` in order, taking every complete reply after each; stops at an error.
    static func parse(
        _ pieces: [ArraySlice<UInt8>], _ limits: MemcachedParser.Limits, _ keys: [[UInt8]]?
    ) -> (replies: [MemcachedReply], end: End) {
        var parser = MemcachedParser(limits: limits)
        var replies: [MemcachedReply] = []
        for piece in pieces {
            parser.append(piece)
            do {
                while let reply = try parser.next(expectingKeys: keys) { replies.append(reply) }
            } catch {
                // The error code, not the message: a line that is both too long and holds a
                // bare CR fails as one or the other depending on where the bytes were split
                // (Fuzz/Regressions/memcached/cr-at-line-limit-error-depends-on-split).
                return (replies, .failed("\(error.code)"))
            }
        }
        return (replies, .needsMore(buffered: parser.bufferedCount))
    }

    /// `reply` as memcached sends it.
    static func encode(_ reply: MemcachedReply) -> [UInt8] {
        var out: [UInt8] = []
        func line(_ text: String) {
            out += text.utf8
            out += [13, 10]
        }
        func line(_ word: String, _ rest: String) { line(rest.isEmpty ? word : word + " " + rest) }
        switch reply {
        case .values(let items):
            for item in items {
                line("VALUE \(item.key) \(item.flags) \(item.value.count)" + (item.cas.map { " \($0)" } ?? ""))
                out += item.value
                out += [13, 10]
            }
            line("END")
        case .stored: line("STORED")
        case .notStored: line("NOT_STORED")
        case .exists: line("EXISTS")
        case .notFound: line("NOT_FOUND")
        case .deleted: line("DELETED")
        case .touched: line("TOUCHED")
        case .ok: line("OK")
        case .number(let number): line(String(number))
        case .version(let text): line("VERSION", text)
        case .error(let text): line("ERROR", text)
        case .clientError(let text): line("CLIENT_ERROR", text)
        case .serverError(let text): line("SERVER_ERROR", text)
        case .meta(let meta):
            var words = [meta.status.rawValue]
            if let value = meta.value { words.append(String(value.count)) }
            line((words + meta.flags).joined(separator: " "))
            if let value = meta.value {
                out += value
                out += [13, 10]
            }
        }
        return out
    }
}
