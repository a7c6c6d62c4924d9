import SessionKit

/// An incremental, bounded parser for RESP2 and RESP3 replies.
///
/// Feed it bytes as they arrive with ``append(_:)-(Sequence<UInt8>)``, then call ``next()`` until it returns `nil`
/// ("need more bytes"). A reply may be split at any byte and a read may carry many replies.
/// The parser resumes where it stopped: every complete line and every complete element of an
/// aggregate still in progress is parsed once and consumed from the buffer, and a line or bulk
/// string that is still arriving is not scanned again, so a reply trickling in costs work in
/// proportion to its bytes, whatever the size of its reads. Malformed input throws a
/// `SessionError` with code `.protocolError`; after that the stream cannot be trusted and every
/// later call throws the same error (the connection must be closed).
///
/// Sizes the server announces are checked against ``Limits`` before anything is waited for, and
/// the parser never reserves memory from an announced length or count: it only ever holds bytes
/// that actually arrived. Error messages never repeat what the server sent (a line or a value
/// can hold a session key); they name the kind of fault, lengths and byte positions.
///
/// ```swift
/// var parser = RESPParser()
/// parser.append(Array("*2\r\n:3\r\n+fo".utf8))
/// try parser.next()          // nil: the reply is incomplete
/// parser.append(Array("o\r\n".utf8))
/// try parser.next()          // .array([.integer(3), .simpleString("foo")])
/// ```
public struct RESPParser: Sendable {
    /// Bounds on what a server may send.
    public struct Limits: Sendable, Hashable {
        /// The default ``maxBulkLength``: `RedisSessionStore`'s default `maxValueSize` (4 MiB)
        /// plus 64 KiB of slack.
        public static let defaultMaxBulkLength = 4 * 1024 * 1024 + 64 * 1024

        /// The largest bulk string, blob error or verbatim string, in bytes. Default
        /// ``defaultMaxBulkLength`` (4 MiB + 64 KiB): a session store never reads a value larger
        /// than its `maxValueSize` (4 MiB by default). Raise it together with `maxValueSize`, or
        /// to read larger values through `RedisClient.send`; Redis' own `proto-max-bulk-len`
        /// is 512 MiB.
        public var maxBulkLength: Int
        /// The most elements in one array, set or push frame (a map counts keys and values).
        public var maxAggregateCount: Int
        /// The deepest nesting of aggregates (a flat array has depth 1).
        public var maxDepth: Int
        /// The longest simple string, simple error or number line, in bytes.
        public var maxLineLength: Int
        /// The most received bytes the parser holds unparsed. The parser holds at most one
        /// element in progress (a line, or a bulk string still arriving); the complete
        /// elements of a large array are parsed and dropped from the buffer as they arrive,
        /// so they never count against this bound. Beyond it ``RESPParser/next()`` throws
        /// `protocolError`. Unless set, it follows the other limits:
        /// `maxBulkLength + maxLineLength + 4`, the most one element can need; set it lower to
        /// cap a connection's buffer below one value at the bulk limit.
        public var maxBufferedBytes: Int {
            get { bufferedBytesOverride ?? Self.sum(maxBulkLength, maxLineLength, 4) }
            set { bufferedBytesOverride = newValue }
        }
        private var bufferedBytesOverride: Int?

        /// Creates limits; the defaults suit session data and every reply a session store sees.
        ///
        /// - Parameters:
        ///   - maxBulkLength: the longest bulk string accepted.
        ///   - maxAggregateCount: the most elements of one array, set, map or push.
        ///   - maxDepth: the deepest nesting of aggregates.
        ///   - maxLineLength: the longest line (simple string, error, number).
        ///   - maxBufferedBytes: `nil` (the default) for `maxBulkLength + maxLineLength + 4`.
        public init(
            maxBulkLength: Int = Limits.defaultMaxBulkLength,
            maxAggregateCount: Int = 1 << 20,
            maxDepth: Int = 32,
            maxLineLength: Int = 64 * 1024,
            maxBufferedBytes: Int? = nil
        ) {
            self.maxBulkLength = maxBulkLength
            self.maxAggregateCount = maxAggregateCount
            self.maxDepth = maxDepth
            self.maxLineLength = maxLineLength
            self.bufferedBytesOverride = maxBufferedBytes
        }

        private static func sum(_ a: Int, _ b: Int, _ c: Int) -> Int {
            let (ab, o1) = a.addingReportingOverflow(b)
            let (abc, o2) = ab.addingReportingOverflow(c)
            return o1 || o2 ? Int.max : abc
        }
    }

    /// The limits this parser enforces.
    public let limits: Limits
    /// Received bytes; those before `readIndex` are consumed and dropped now and then.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// The aggregates of the reply in progress, outermost first.
    private var stack: [Frame] = []
    /// A blob (bulk string, blob error, verbatim string) whose header is consumed and whose
    /// payload is still arriving at `readIndex`.
    private var pendingBlob: PendingBlob?
    /// How many bytes after `readIndex` the search for the current line's CRLF has already
    /// passed; the search resumes there.
    private var lineScanned = 0
    /// Bytes of the reply in progress already consumed (its complete lines and elements).
    private var consumedOfReply = 0
    private var failure: SessionError?
    /// Bytes looked at: lines scanned for CRLF, payloads copied, bytes moved when the buffer is
    /// compacted. Grows in proportion to the bytes received, however they are split.
    private(set) var bytesExamined = 0

    private enum Kind: UInt8 {
        case array, set, push, map, attribute
    }

    private struct Frame {
        let kind: Kind
        /// Elements still to come (keys and values for maps and attributes).
        var remaining: Int
        /// The elements so far; attributes keep none.
        var elements: [RESPValue] = []
    }

    private struct PendingBlob {
        let type: UInt8
        let length: Int
    }

    /// Creates a parser with the given limits.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The number of received bytes not yet returned as replies (the consumed part of a reply
    /// in progress included).
    public var bufferedByteCount: Int { consumedOfReply + unparsedByteCount }

    /// The number of received bytes held unparsed: at most one element in progress, plus what
    /// the last ``append(_:)-(Sequence<UInt8>)`` added and ``next()`` has not reached yet.
    var unparsedByteCount: Int { buffer.count - readIndex }

    /// The size of the buffer: the unparsed bytes and consumed ones not yet dropped.
    var storedByteCount: Int { buffer.count }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete reply, or `nil` when more bytes are needed.
    ///
    /// - Throws: `SessionError` `.protocolError` on malformed input, when a limit is exceeded,
    ///   or when more than ``Limits/maxBufferedBytes`` would have to be held unparsed.
    public mutating func next() throws -> RESPValue? {
        if let failure { throw failure }
        // Nothing received since the last reply or element: nothing to do.
        guard readIndex < buffer.count else { return nil }
        do {
            let value = try parse()
            if let value {
                consumedOfReply = 0
                compact()
                return value
            }
            compact()
            guard unparsedByteCount <= limits.maxBufferedBytes else {
                throw SessionError(.protocolError, "Redis sent \(unparsedByteCount) bytes that do not yet complete an element, over RESPParser.Limits.maxBufferedBytes (\(limits.maxBufferedBytes)); the connection will be closed. Raise maxBufferedBytes (and maxBulkLength) if values this large are expected")
            }
            return nil
        } catch let error as SessionError {
            failure = error
            throw error
        }
    }

    /// Drops consumed bytes: all of them when nothing is left, else once they are at least
    /// 64 KiB and half the buffer (so each byte is moved at most about once).
    @inline(__always)
    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex >= 64 * 1024 && readIndex * 2 >= buffer.count {
            bytesExamined += buffer.count - readIndex
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    @inline(__always)
    private mutating func consume(_ count: Int) {
        readIndex += count
        consumedOfReply += count
        lineScanned = 0
    }

    // MARK: Parsing

    private static let cr: UInt8 = 13
    private static let lf: UInt8 = 10

    /// Parses from where the last call stopped; returns a complete reply or `nil`.
    @inline(__always)
    private mutating func parse() throws -> RESPValue? {
        while true {
            guard var value = try element() else { return nil }
            // Hand the element to the aggregates it completes, innermost first.
            while true {
                guard !stack.isEmpty else { return value }
                let top = stack.count - 1
                if stack[top].kind != .attribute { stack[top].elements.append(value) }
                stack[top].remaining -= 1
                if stack[top].remaining > 0 { break }
                let frame = stack.removeLast()
                guard let built = Self.build(frame) else { break }  // an attribute: its value follows
                value = built
            }
        }
    }

    private static func build(_ frame: Frame) -> RESPValue? {
        switch frame.kind {
        case .array: return .array(frame.elements)
        case .set: return .set(frame.elements)
        case .push: return .push(frame.elements)
        case .map:
            var pairs: [(key: RESPValue, value: RESPValue)] = []
            pairs.reserveCapacity(frame.elements.count / 2)
            var index = 0
            while index + 1 < frame.elements.count {
                pairs.append((frame.elements[index], frame.elements[index + 1]))
                index += 2
            }
            return .map(pairs)
        case .attribute: return nil
        }
    }

    /// The next complete scalar, or an empty or null aggregate; opens the aggregates it meets
    /// (and loops on to their first element). `nil` when more bytes are needed.
    private mutating func element() throws -> RESPValue? {
        while true {
            if let blob = pendingBlob {
                guard let value = try finish(blob) else { return nil }
                pendingBlob = nil
                return value
            }
            guard readIndex < buffer.count else { return nil }
            let type = buffer[readIndex]
            guard Self.isType(type) else {
                throw Self.malformed("unknown type byte \(Self.describe(type)) at the start of a reply or element")
            }
            guard let line = try line() else { return nil }
            let text = (line.lowerBound + 1)..<line.upperBound
            consume(line.count + 2)
            switch type {
            case UInt8(ascii: "+"):
                return .simpleString(Self.string(buffer, text))
            case UInt8(ascii: "-"):
                return .error(Self.string(buffer, text))
            case UInt8(ascii: ":"):
                return .integer(try Self.integer(buffer, text, what: "an integer"))
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                let what = type == UInt8(ascii: "$") ? "bulk string" : type == UInt8(ascii: "!") ? "blob error" : "verbatim string"
                let length = try Self.length(buffer, text, allowNull: type == UInt8(ascii: "$"), what: what)
                if length < 0 { return .null }
                guard length <= limits.maxBulkLength else {
                    throw SessionError(.protocolError, "Redis announced a \(length)-byte \(what), over the \(limits.maxBulkLength)-byte limit; the connection will be closed. Raise RESPParser.Limits.maxBulkLength (RedisConfiguration.parserLimits) if values this large are legitimate")
                }
                let blob = PendingBlob(type: type, length: length)
                if let value = try finish(blob) { return value }
                pendingBlob = blob
                return nil
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
                let kind: Kind = type == UInt8(ascii: "*") ? .array : type == UInt8(ascii: "~") ? .set : .push
                let what = kind == .array ? "array" : kind == .set ? "set" : "push frame"
                let count = try Self.length(buffer, text, allowNull: kind == .array, what: what)
                if count < 0 { return .null }
                guard count <= limits.maxAggregateCount else { throw Self.tooMany(count, what, limit: limits.maxAggregateCount) }
                guard stack.count + 1 <= limits.maxDepth else { throw Self.tooDeep(limit: limits.maxDepth) }
                if count == 0 { return Self.build(Frame(kind: kind, remaining: 0))! }
                stack.append(Self.frame(kind, count, received: buffer.count - readIndex))
            case UInt8(ascii: "%"):
                let count = try Self.length(buffer, text, allowNull: false, what: "map")
                guard count <= limits.maxAggregateCount / 2 else { throw Self.tooMany(count, "map", limit: limits.maxAggregateCount) }
                guard stack.count + 1 <= limits.maxDepth else { throw Self.tooDeep(limit: limits.maxDepth) }
                if count == 0 { return .map([]) }
                stack.append(Self.frame(.map, count * 2, received: buffer.count - readIndex))
            case UInt8(ascii: "|"):
                // Attributes annotate the value that follows them: parsed, then dropped.
                let count = try Self.length(buffer, text, allowNull: false, what: "attribute")
                guard stack.count + 1 <= limits.maxDepth else { throw Self.tooDeep(limit: limits.maxDepth) }
                guard count <= limits.maxAggregateCount / 2 else { throw Self.tooMany(count, "attribute", limit: limits.maxAggregateCount) }
                if count > 0 { stack.append(Frame(kind: .attribute, remaining: count * 2)) }
            case UInt8(ascii: "_"):
                guard text.isEmpty else { throw Self.malformed("a null (_) of \(text.count) bytes; it must be followed directly by CRLF") }
                return .null
            case UInt8(ascii: "#"):
                if text.count == 1 && buffer[text.lowerBound] == UInt8(ascii: "t") { return .boolean(true) }
                if text.count == 1 && buffer[text.lowerBound] == UInt8(ascii: "f") { return .boolean(false) }
                throw Self.malformed("a boolean of \(text.count) bytes; it must be #t or #f")
            case UInt8(ascii: ","):
                return .double(try Self.double(buffer, text))
            default:  // "("
                var digits = text
                if let first = digits.first, buffer[first] == UInt8(ascii: "-") || buffer[first] == UInt8(ascii: "+") {
                    digits = digits.dropFirst()
                }
                guard !digits.isEmpty else { throw Self.malformed("an empty big number") }
                if let bad = digits.first(where: { buffer[$0] < 48 || buffer[$0] > 57 }) {
                    throw Self.malformed("a big number of \(text.count) bytes has \(Self.describe(buffer[bad])) at offset \(bad - text.lowerBound); it must be decimal digits with an optional sign")
                }
                return .bigNumber(Self.string(buffer, text))
            }
        }
    }

    /// A frame for `count` elements, with room for as many as the bytes already received
    /// could hold (at least 3 bytes each), never more than that: an announced count alone
    /// reserves nothing.
    private static func frame(_ kind: Kind, _ count: Int, received: Int) -> Frame {
        var frame = Frame(kind: kind, remaining: count)
        frame.elements.reserveCapacity(min(count, received / 3))
        return frame
    }

    private static func isType(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "!"),
             UInt8(ascii: "="), UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"),
             UInt8(ascii: "|"), UInt8(ascii: "_"), UInt8(ascii: "#"), UInt8(ascii: ","), UInt8(ascii: "("):
            return true
        default:
            return false
        }
    }

    /// The pending blob's payload once it and its CRLF have arrived (then consumed).
    private mutating func finish(_ blob: PendingBlob) throws -> RESPValue? {
        let length = blob.length
        guard buffer.count - readIndex >= length + 2 else { return nil }
        let start = readIndex
        guard buffer[start + length] == Self.cr, buffer[start + length + 1] == Self.lf else {
            throw Self.malformed("a \(length)-byte string is not followed by CRLF")
        }
        bytesExamined += length + 2
        let payload = start..<(start + length)
        consume(length + 2)
        switch blob.type {
        case UInt8(ascii: "$"):
            return .bulkString(Array(buffer[payload]))
        case UInt8(ascii: "!"):
            return .error(Self.string(buffer, payload))
        default:  // "="
            guard length >= 4, buffer[payload.lowerBound + 3] == UInt8(ascii: ":") else {
                throw Self.malformed("a verbatim string of \(length) bytes does not start with a three-letter format and ':'")
            }
            let format = Self.string(buffer, payload.lowerBound..<(payload.lowerBound + 3))
            return .verbatimString(format: format, text: Array(buffer[(payload.lowerBound + 4)..<payload.upperBound]))
        }
    }

    /// The range of the line at `readIndex` (its type byte included, its CRLF not), once its
    /// CRLF has arrived; a bare CR or LF inside is malformed. Not consumed.
    private mutating func line() throws -> Range<Int>? {
        let start = readIndex + 1  // after the type byte
        let end = buffer.count
        let scanFrom = start + lineScanned
        let maxLineLength = limits.maxLineLength
        let scan = buffer.withUnsafeBufferPointer { Self.scan($0, from: scanFrom, lineStart: start, maxLineLength: maxLineLength) }
        switch scan {
        case .found(let cr):
            bytesExamined += cr + 2 - scanFrom
            return readIndex..<cr
        case .incomplete(let stop):
            bytesExamined += end - scanFrom
            lineScanned = stop - start
            return nil
        case .crWithoutLF(let offset): throw Self.malformed("CR not followed by LF at offset \(offset) of a line")
        case .bareLF(let offset): throw Self.malformed("LF without CR at offset \(offset) of a line")
        case .tooLong: throw Self.lineTooLong(limit: limits.maxLineLength)
        }
    }

    private enum LineScan {
        /// The CRLF's CR is at this index.
        case found(Int)
        /// No CRLF yet; resume at this index (the end, or a CR still waiting for its LF).
        case incomplete(Int)
        case crWithoutLF(offset: Int)
        case bareLF(offset: Int)
        case tooLong
    }

    /// Looks for the CRLF ending the line that starts at `lineStart`, from `from` on.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, lineStart: Int, maxLineLength: Int) -> LineScan {
        let end = bytes.count
        var scan = from
        while scan < end {
            let byte = bytes[scan]
            if byte == cr {
                guard scan + 1 < end else { return .incomplete(scan) }
                guard bytes[scan + 1] == lf else { return .crWithoutLF(offset: scan - lineStart) }
                return .found(scan)
            }
            if byte == lf { return .bareLF(offset: scan - lineStart) }
            scan += 1
            if scan - lineStart > maxLineLength { return .tooLong }
        }
        return end - lineStart > maxLineLength ? .tooLong : .incomplete(end)
    }

    private static func string(_ buffer: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }

    /// A length or count: `-1` when `allowNull` (RESP2 null), else a non-negative integer.
    private static func length(_ buffer: [UInt8], _ text: Range<Int>, allowNull: Bool, what: @autoclosure () -> String) throws -> Int {
        if let first = text.first, buffer[first] == UInt8(ascii: "?") {
            throw SessionError(.unsupported, "Redis sent a streamed \(what()) (RESP3 '?' length), which this client does not support")
        }
        let value = try integer(buffer, text, what: "the \(what()) length")
        if value == -1 && allowNull { return -1 }
        guard value >= 0 else { throw Self.malformed("negative \(what()) length \(value)") }
        guard value <= Int64(Int.max) else { throw Self.malformed("\(what()) length \(value) is out of range") }
        return Int(value)
    }

    /// The decimal integer in `text`; `what` names it in error messages (built only then).
    private static func integer(_ buffer: [UInt8], _ text: Range<Int>, what: @autoclosure () -> String) throws -> Int64 {
        var digits = text
        var negative = false
        if let first = digits.first, buffer[first] == UInt8(ascii: "-") || buffer[first] == UInt8(ascii: "+") {
            negative = buffer[first] == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 19 else {
            throw Self.malformed("\(what()) (\(text.count) bytes) is not a 64-bit decimal integer")
        }
        var value: Int64 = 0
        for index in digits {
            let byte = buffer[index]
            guard byte >= 48 && byte <= 57 else {
                throw Self.malformed("\(what()) (\(text.count) bytes) has \(Self.describe(byte)) at offset \(index - text.lowerBound), not a digit")
            }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(byte - 48))
            guard !o1 && !o2 else { throw Self.malformed("\(what()) overflows 64 bits") }
            value = sum
        }
        return negative ? -value : value
    }

    private static func double(_ buffer: [UInt8], _ text: Range<Int>) throws -> Double {
        let string = Self.string(buffer, text)
        switch string {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        guard !text.isEmpty else { throw Self.malformed("an empty double") }
        if let bad = text.first(where: {
            let byte = buffer[$0]
            return !((byte >= 48 && byte <= 57) || byte == 43 || byte == 45 || byte == 46 || byte == 101 || byte == 69)
        }) {
            throw Self.malformed("a double of \(text.count) bytes has \(Self.describe(buffer[bad])) at offset \(bad - text.lowerBound)")
        }
        guard let value = Double(string) else {
            throw Self.malformed("a double of \(text.count) bytes (digits, signs, '.' and exponents) does not read as a number")
        }
        return value
    }

    // MARK: Errors

    /// A byte as messages show it: its class and hex value, never more than this one byte.
    static func describe(_ byte: UInt8) -> String {
        let hex = "0x" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
        switch byte {
        case 48...57: return "a digit (\(hex))"
        case 65...90, 97...122: return "a letter (\(hex))"
        case 0x21...0x7E: return "the punctuation byte \(hex)"
        case 0x20: return "a space (0x20)"
        case 0x80...: return "a non-ASCII byte (\(hex))"
        default: return "the control byte \(hex)"
        }
    }

    private static func malformed(_ what: String) -> SessionError {
        SessionError(.protocolError, "Redis sent a malformed reply: \(what). The connection is out of step and will be closed; check that the server really speaks RESP (is it Redis, and not a proxy or another service on that port?)")
    }

    private static func lineTooLong(limit: Int) -> SessionError {
        SessionError(.protocolError, "Redis sent a line longer than \(limit) bytes without CRLF; the connection will be closed. Raise RESPParser.Limits.maxLineLength if this is legitimate")
    }

    private static func tooDeep(limit: Int) -> SessionError {
        SessionError(.protocolError, "Redis sent aggregates nested deeper than \(limit) levels; the connection will be closed. Raise RESPParser.Limits.maxDepth if this is legitimate")
    }

    private static func tooMany(_ count: Int, _ kind: String, limit: Int) -> SessionError {
        SessionError(.protocolError, "Redis announced a \(kind) of \(count) elements, over the \(limit)-element limit; the connection will be closed. Raise RESPParser.Limits.maxAggregateCount if this is legitimate")
    }
}
