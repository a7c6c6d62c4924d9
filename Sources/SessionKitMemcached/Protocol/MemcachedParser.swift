import SessionKit

/// An incremental parser for memcached replies (text and meta protocol).
///
/// Feed it bytes as they arrive with ``append(_:)-(Sequence<UInt8>)``, then call ``next()`` until it returns
/// `nil` ("need more bytes"). A reply split at any byte parses the same as one that arrived
/// whole. A get reply is parsed item by item: each complete item is consumed (and kept) at
/// once, so a reply arriving slowly is never re-parsed or re-copied from its start; a line
/// still arriving is not scanned again from its start, and an item or meta header whose value
/// is still arriving is parsed once. Malformed input throws a
/// `SessionError` with code `protocolError`; after that the stream is out of step and the
/// connection must be closed. Error messages never quote the server's lines, keys or values;
/// they name the kind of fault, lengths and byte positions.
///
/// Sizes are bounded: a line longer than ``Limits/maximumLineLength``, a value longer than
/// ``Limits/maximumValueLength``, a reply with more than ``Limits/maximumItemsPerReply``
/// items or more than ``Limits/maximumBufferedBytes`` held unparsed throws, and nothing is
/// ever allocated from a length the server sent before the bytes themselves have arrived. A client that knows which keys it asked for passes them to
/// ``next(expectingKeys:)``: then a VALUE for a key not asked for (or one item too many) fails
/// at its header line, and a reply can never hold more than one value per requested key.
public struct MemcachedParser: Sendable {
    /// Bounds on what a reply may contain.
    public struct Limits: Sendable, Hashable {
        /// The longest reply line without its CRLF. Default 8 KiB.
        public var maximumLineLength: Int
        /// The largest value in one item. Default 1 MiB, memcached's default item size.
        public var maximumValueLength: Int
        /// The most items in one `get` reply. Default 10,000.
        public var maximumItemsPerReply: Int
        /// The most received bytes held unparsed: the parser holds at most one line and the
        /// value that follows it (complete items of a get reply are consumed as they arrive).
        /// Beyond it ``MemcachedParser/next()`` throws `protocolError`. Unless set, it follows
        /// the other limits: `maximumLineLength + maximumValueLength + 4`, the most one item
        /// can need; set it lower to cap a connection's buffer below one value at the limit.
        public var maximumBufferedBytes: Int {
            get {
                let (sum, o1) = maximumLineLength.addingReportingOverflow(maximumValueLength)
                let (total, o2) = sum.addingReportingOverflow(4)
                return bufferedBytesOverride ?? (o1 || o2 ? Int.max : total)
            }
            set { bufferedBytesOverride = newValue }
        }
        private var bufferedBytesOverride: Int?

        /// Creates limits.
        ///
        /// - Parameters:
        ///   - maximumLineLength: the longest reply line accepted.
        ///   - maximumValueLength: the longest value accepted.
        ///   - maximumItemsPerReply: the most items in one get reply.
        ///   - maximumBufferedBytes: `nil` (the default) for
        ///     `maximumLineLength + maximumValueLength + 4`.
        public init(maximumLineLength: Int = 8192, maximumValueLength: Int = 1024 * 1024, maximumItemsPerReply: Int = 10_000, maximumBufferedBytes: Int? = nil) {
            self.maximumLineLength = maximumLineLength
            self.maximumValueLength = maximumValueLength
            self.maximumItemsPerReply = maximumItemsPerReply
            self.bufferedBytesOverride = maximumBufferedBytes
        }
    }

    /// The limits in force.
    public let limits: Limits
    private var buffer: [UInt8] = []
    private var start = 0
    /// A get reply being received: the items complete so far (already consumed from `buffer`).
    private var values: PartialValues?
    /// How many bytes of the line at `start` were already checked; the scan resumes there.
    private var lineScanned = 0
    /// A VALUE or VA header at `start` whose data block is still arriving: parsed once.
    private var pending: PendingBlock?
    /// Bytes looked at: lines scanned and split into tokens, values copied, bytes moved when
    /// the buffer is compacted.
    /// Grows in proportion to the bytes received, however they are split.
    private(set) var bytesExamined = 0

    private struct PendingBlock {
        /// Where the data block starts, counted from `start`.
        let dataOffset: Int
        let length: Int
        let header: Header
    }

    private enum Header {
        /// A VALUE line of a get reply; `keyIndex` is the next expected key's index after it.
        case item(key: String, flags: UInt32, cas: UInt64?, keyIndex: Int)
        /// A `VA` meta line: its flags, checked once the value has arrived, and its length.
        case meta(flags: [String], lineLength: Int)
    }

    private struct PartialValues {
        var items: [MemcachedItem] = []
        /// The index in the expected keys after the last item's key (they come in request order).
        var nextKey = 0
        /// The value bytes received so far.
        var valueBytes = 0
    }

    /// Creates a parser.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The number of bytes received but not yet consumed (the complete items of a get reply
    /// still in progress are consumed).
    public var bufferedCount: Int { buffer.count - start }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start > 0 && (start >= 1 << 16 || start * 2 >= buffer.count) {
            bytesExamined += buffer.count - start
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }

    /// Moves `start` (consuming bytes); the next line is scanned from its beginning.
    private mutating func consume(to position: Int) {
        if position != start { lineScanned = 0 }
        start = position
    }

    /// Returns the next complete reply, or `nil` when more bytes are needed.
    ///
    /// - Throws: `SessionError` `.protocolError` for malformed or oversized replies.
    public mutating func next() throws(SessionError) -> MemcachedReply? {
        try next(expectingKeys: nil)
    }

    /// Returns the next complete reply, or `nil` when more bytes are needed; a get reply's items
    /// may only carry `keys`, in order, each at most once per time it appears (`nil`: any keys,
    /// up to ``Limits/maximumItemsPerReply``; empty: a VALUE block is an error). Pass the
    /// request's keys each time until the reply is complete.
    ///
    /// - Throws: `SessionError` `.protocolError` for malformed or oversized replies, and for a
    ///   VALUE line naming a key that was not requested (or one more item than keys requested),
    ///   as soon as that line arrives.
    public mutating func next(expectingKeys keys: [[UInt8]]?) throws(SessionError) -> MemcachedReply? {
        let reply: MemcachedReply?
        if values != nil {
            reply = try parseValues(keys)
        } else if case .meta(let flags, let lineLength)? = pending?.header {
            reply = try finishMeta(flags: flags, lineLength: lineLength)
        } else {
            var cursor = start
            reply = try parseReply(at: &cursor, keys)
            if reply != nil { consume(to: cursor) }
        }
        if reply == nil && bufferedCount > limits.maximumBufferedBytes {
            throw SessionError(.protocolError, "memcached sent \(bufferedCount) bytes that do not yet complete a reply line and its value, over MemcachedParser.Limits.maximumBufferedBytes (\(limits.maximumBufferedBytes)); the connection will be closed")
        }
        return reply
    }

    // MARK: Parsing

    private static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, space: UInt8 = 0x20

    /// The range of the line at `start` (without CRLF) and where the next line starts; the
    /// scan resumes where the previous call for the same line stopped.
    private mutating func line() throws(SessionError) -> (Range<Int>, next: Int)? {
        let position = start
        let end = buffer.count
        let limit = min(end, position + limits.maximumLineLength + 2)
        // Resume one byte back: a CR that ended the bytes scanned so far is checked again
        // with the byte after it.
        let resume = position + max(lineScanned - 1, 0)
        var index = resume
        defer { bytesExamined += index - resume }
        while index < limit {
            let byte = buffer[index]
            if byte == Self.lf {
                guard index > position, buffer[index - 1] == Self.cr else {
                    throw SessionError(.protocolError, "memcached sent a line ending in a bare LF, which its protocol never does; the connection is out of step and will be closed")
                }
                return (position..<(index - 1), index + 1)
            }
            if byte < 0x20 && byte != Self.cr || byte == 0x7F {
                throw SessionError(.protocolError, "memcached sent a reply line containing the control byte 0x\(MemcachedKey.hex(byte)); the connection will be closed")
            }
            if byte == Self.cr && index + 1 < end && buffer[index + 1] != Self.lf {
                throw SessionError(.protocolError, "memcached sent a CR not followed by LF inside a reply line; the connection will be closed")
            }
            index += 1
        }
        lineScanned = index - position
        if end - position >= limits.maximumLineLength + 2 {
            throw SessionError(.protocolError, "memcached sent a reply line longer than \(limits.maximumLineLength) bytes; the connection will be closed (raise MemcachedParser.Limits.maximumLineLength only if the server really sends such lines)")
        }
        return nil
    }

    private mutating func tokens(_ range: Range<Int>) -> [Range<Int>] {
        bytesExamined += range.count
        var result: [Range<Int>] = []
        var index = range.lowerBound
        while index < range.upperBound {
            while index < range.upperBound && buffer[index] == Self.space { index += 1 }
            let tokenStart = index
            while index < range.upperBound && buffer[index] != Self.space { index += 1 }
            if tokenStart < index { result.append(tokenStart..<index) }
        }
        return result
    }

    private static func equals(_ buffer: [UInt8], _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { text in
            var i = 0
            for index in range {
                if buffer[index] != text[i] { return false }
                i += 1
            }
            return true
        }
    }

    private static func text(_ buffer: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: buffer[range], as: UTF8.self)
    }

    /// Parses an unsigned decimal number of at most `maximum`; nil when malformed or too big.
    private static func number(_ buffer: [UInt8], _ range: Range<Int>, maximum: UInt64) -> UInt64? {
        guard !range.isEmpty, range.count <= 20 else { return nil }
        var value: UInt64 = 0
        for index in range {
            let byte = buffer[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value <= maximum ? value : nil
    }

    private static func malformed(_ what: String, _ range: Range<Int>) -> SessionError {
        malformed(what, length: range.count)
    }

    private static func malformed(_ what: String, length: Int) -> SessionError {
        SessionError(.protocolError, "memcached sent a malformed \(what) (a line of \(length) bytes, not shown); the connection is out of step and will be closed")
    }

    /// The rest of a line after its first token, as text (error messages, VERSION).
    private static func rest(_ buffer: [UInt8], _ tokens: [Range<Int>], _ line: Range<Int>) -> String {
        guard tokens.count > 1 else { return "" }
        return text(buffer, tokens[1].lowerBound..<line.upperBound)
    }

    /// Reads a data block of `length` bytes plus CRLF at `position`.
    private mutating func dataBlock(at position: Int, length: Int) throws(SessionError) -> ([UInt8], next: Int)? {
        let (end, overflow) = position.addingReportingOverflow(length)
        guard !overflow else { throw SessionError(.protocolError, "memcached announced an impossible value length") }
        guard buffer.count >= end + 2 else { return nil }
        guard buffer[end] == Self.cr, buffer[end + 1] == Self.lf else {
            throw SessionError(.protocolError, "memcached sent a value whose data block is not followed by CRLF at the announced length (\(length) bytes); the connection is out of step and will be closed")
        }
        bytesExamined += length + 2
        return (Array(buffer[position..<end]), end + 2)
    }

    private mutating func parseReply(at cursor: inout Int, _ keys: [[UInt8]]?) throws(SessionError) -> MemcachedReply? {
        guard let (range, next) = try line() else { return nil }
        let parts = tokens(range)
        guard let first = parts.first else {
            throw SessionError(.protocolError, "memcached sent an empty reply line; the connection is out of step and will be closed")
        }
        if Self.equals(buffer, first, "VALUE") || Self.equals(buffer, first, "END") {
            // parseValues consumes as it goes (moves `start`); keep `cursor` in step with it.
            start = cursor
            values = PartialValues()
            let reply = try parseValues(keys)
            cursor = start
            return reply
        }
        if let error = Self.errorReply(buffer, first, parts, range) {
            cursor = next
            return error
        }
        let single: MemcachedReply?
        switch range.count {
        case _ where Self.equals(buffer, first, "STORED"): single = .stored
        case _ where Self.equals(buffer, first, "NOT_STORED"): single = .notStored
        case _ where Self.equals(buffer, first, "EXISTS"): single = .exists
        case _ where Self.equals(buffer, first, "NOT_FOUND"): single = .notFound
        case _ where Self.equals(buffer, first, "DELETED"): single = .deleted
        case _ where Self.equals(buffer, first, "TOUCHED"): single = .touched
        case _ where Self.equals(buffer, first, "OK"): single = .ok
        default: single = nil
        }
        if let single {
            guard parts.count == 1 else { throw Self.malformed("reply line", range) }
            cursor = next
            return single
        }
        if Self.equals(buffer, first, "VERSION") {
            guard parts.count >= 2 else { throw Self.malformed("VERSION line", range) }
            cursor = next
            return .version(Self.rest(buffer, parts, range))
        }
        if buffer[first.lowerBound] >= 0x30 && buffer[first.lowerBound] <= 0x39 {
            guard parts.count == 1, let value = Self.number(buffer, first, maximum: .max) else { throw Self.malformed("number reply", range) }
            cursor = next
            return .number(value)
        }
        if first.count == 2, let status = MemcachedMetaReply.Status(rawValue: Self.text(buffer, first)) {
            return try parseMeta(status, parts: parts, line: range, next: next, cursor: &cursor)
        }
        throw Self.malformed("reply line (unknown reply)", range)
    }

    private static func errorReply(_ buffer: [UInt8], _ first: Range<Int>, _ parts: [Range<Int>], _ line: Range<Int>) -> MemcachedReply? {
        if equals(buffer, first, "ERROR") { return .error(rest(buffer, parts, line)) }
        if equals(buffer, first, "CLIENT_ERROR") { return .clientError(rest(buffer, parts, line)) }
        if equals(buffer, first, "SERVER_ERROR") { return .serverError(rest(buffer, parts, line)) }
        return nil
    }

    /// `VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n` ... `END\r\n`, from `start`, with the
    /// items so far in `values`. Each complete item is consumed at once. An error line in place
    /// of the next VALUE or END ends the reply as that error (memcached does this when it fails
    /// part-way through a multi-key get).
    private mutating func parseValues(_ keys: [[UInt8]]?) throws(SessionError) -> MemcachedReply? {
        while true {
            if let block = pending, case .item(let key, let flags, let cas, let keyIndex) = block.header {
                guard let (data, after) = try dataBlock(at: start + block.dataOffset, length: block.length) else { return nil }
                pending = nil
                if values == nil { values = PartialValues() }
                values!.items.append(MemcachedItem(key: key, value: data, flags: flags, cas: cas))
                values!.nextKey = keyIndex
                values!.valueBytes += block.length
                consume(to: after)
                continue
            }
            guard let (range, next) = try line() else { return nil }
            let parts = tokens(range)
            guard let first = parts.first else { throw Self.malformed("empty line inside a get reply", range) }
            if Self.equals(buffer, first, "END") {
                guard parts.count == 1 else { throw Self.malformed("END line", range) }
                consume(to: next)
                let items = values?.items ?? []
                values = nil
                return .values(items)
            }
            if let error = Self.errorReply(buffer, first, parts, range) {
                consume(to: next)
                values = nil
                return error
            }
            guard Self.equals(buffer, first, "VALUE"), parts.count == 4 || parts.count == 5 else {
                throw Self.malformed("line inside a get reply (expected VALUE or END)", range)
            }
            let key = parts[1]
            guard MemcachedKey.isValid(bytes: buffer[key]) else { throw Self.malformed("key in a VALUE line", range) }
            guard let flags = Self.number(buffer, parts[2], maximum: UInt64(UInt32.max)) else { throw Self.malformed("flags in a VALUE line", range) }
            guard let length = Self.number(buffer, parts[3], maximum: UInt64(Int32.max)) else { throw Self.malformed("length in a VALUE line", range) }
            guard Int(length) <= limits.maximumValueLength else {
                throw SessionError(.protocolError, "memcached announced a \(length)-byte value, over the client's limit of \(limits.maximumValueLength) bytes (maxItemSize); the connection will be closed. Raise maxItemSize to match the server's -I setting if such values are expected")
            }
            var cas: UInt64?
            if parts.count == 5 {
                guard let token = Self.number(buffer, parts[4], maximum: .max) else { throw Self.malformed("CAS token in a VALUE line", range) }
                cas = token
            }
            let (count, nextKey, valueBytes) = values.map { ($0.items.count, $0.nextKey, $0.valueBytes) } ?? (0, 0, 0)
            guard count < limits.maximumItemsPerReply else {
                throw SessionError(.protocolError, "memcached sent more than \(limits.maximumItemsPerReply) items in one reply; the connection will be closed")
            }
            var keyIndex = nextKey
            if let keys {
                guard let found = keys[min(nextKey, keys.count)...].firstIndex(where: { buffer[key].elementsEqual($0) }) else {
                    throw SessionError(.protocolError, "memcached sent a value for a key of \(key.count) bytes that the request did not ask for (or more values than keys requested, or out of order); the connection is out of step and will be closed")
                }
                // Implied by the key check (one value per requested key, each within the
                // value limit); kept explicit so the bound on a reply's size is visible.
                guard valueBytes + Int(length) <= max(keys.count, 1) * limits.maximumValueLength else {
                    throw SessionError(.protocolError, "memcached sent more value bytes in one reply than \(max(keys.count, 1)) requested keys can hold; the connection will be closed")
                }
                keyIndex = found + 1
            }
            if let (data, after) = try dataBlock(at: next, length: Int(length)) {
                if values == nil { values = PartialValues() }
                values!.items.append(MemcachedItem(key: Self.text(buffer, key), value: data, flags: UInt32(flags), cas: cas))
                values!.nextKey = keyIndex
                values!.valueBytes += Int(length)
                consume(to: after)
                continue
            }
            // Parsed once: while the data block arrives, later calls only check its length.
            pending = PendingBlock(dataOffset: next - start, length: Int(length),
                                   header: .item(key: Self.text(buffer, key), flags: UInt32(flags), cas: cas, keyIndex: keyIndex))
            return nil
        }
    }

    private mutating func parseMeta(_ status: MemcachedMetaReply.Status, parts: [Range<Int>], line: Range<Int>, next: Int, cursor: inout Int) throws(SessionError) -> MemcachedReply? {
        var flagTokens = parts.dropFirst()
        if status == .value {
            guard let sizeToken = flagTokens.first, let length = Self.number(buffer, sizeToken, maximum: UInt64(Int32.max)) else {
                throw Self.malformed("VA line", line)
            }
            guard Int(length) <= limits.maximumValueLength else {
                throw SessionError(.protocolError, "memcached announced a \(length)-byte value, over the client's limit of \(limits.maximumValueLength) bytes (maxItemSize); the connection will be closed")
            }
            flagTokens = flagTokens.dropFirst()
            let flags = flagTokens.map { Self.text(buffer, $0) }
            if let (data, after) = try dataBlock(at: next, length: Int(length)) {
                try Self.checkMetaFlags(flags, lineLength: line.count)
                cursor = after
                return .meta(MemcachedMetaReply(status: .value, flags: flags, value: data))
            }
            // Parsed once: while the value arrives, later calls only check its length.
            pending = PendingBlock(dataOffset: next - start, length: Int(length), header: .meta(flags: flags, lineLength: line.count))
            return nil
        }
        if status == .noop, !flagTokens.isEmpty { throw Self.malformed("\(status.rawValue) line", line) }
        // A miss echoes only the request's opaque (`O`) and key (`k`) flags.
        if status == .end, flagTokens.contains(where: { buffer[$0.lowerBound] != UInt8(ascii: "O") && buffer[$0.lowerBound] != UInt8(ascii: "k") }) {
            throw Self.malformed("EN line", line)
        }
        let flags = flagTokens.map { Self.text(buffer, $0) }
        try Self.checkMetaFlags(flags, lineLength: line.count)
        cursor = next
        return .meta(MemcachedMetaReply(status: status, flags: flags, value: nil))
    }

    /// Completes the pending `VA` reply once its value has arrived (then consumed).
    private mutating func finishMeta(flags: [String], lineLength: Int) throws(SessionError) -> MemcachedReply? {
        guard let block = pending else { return nil }
        guard let (data, after) = try dataBlock(at: start + block.dataOffset, length: block.length) else { return nil }
        pending = nil
        try Self.checkMetaFlags(flags, lineLength: lineLength)
        consume(to: after)
        return .meta(MemcachedMetaReply(status: .value, flags: flags, value: data))
    }

    private static func checkMetaFlags(_ flags: [String], lineLength: Int) throws(SessionError) {
        for flag in flags {
            let byte = flag.utf8.first ?? 0
            guard (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) else {
                throw SessionError(.protocolError, "memcached sent a malformed meta flag (a line of \(lineLength) bytes, not shown); the connection is out of step and will be closed")
            }
        }
    }
}
