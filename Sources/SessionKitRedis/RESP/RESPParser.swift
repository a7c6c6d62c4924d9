import SessionKit

/// An incremental, bounded parser for RESP2 and RESP3 replies.
///
/// Feed it bytes as they arrive with ``append(_:)-(Sequence<UInt8>)``, then call ``next()`` until it returns `nil`
/// ("need more bytes"). A reply may be split at any byte and a read may carry many replies.
/// Nothing is consumed until a whole reply is available. Malformed input throws a
/// `SessionError` with code `.protocolError`; after that the stream cannot be trusted and every
/// later call throws the same error (the connection must be closed).
///
/// Sizes the server announces are checked against ``Limits`` before anything is waited for, and
/// the parser never reserves memory from an announced length or count: it only ever holds bytes
/// that actually arrived.
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
        /// The largest bulk string, blob error or verbatim string, in bytes (Redis' own default
        /// `proto-max-bulk-len` is 512 MiB).
        public var maxBulkLength: Int
        /// The most elements in one array, set or push frame (a map counts keys and values).
        public var maxAggregateCount: Int
        /// The deepest nesting of aggregates (a flat array has depth 1).
        public var maxDepth: Int
        /// The longest simple string, simple error or number line, in bytes.
        public var maxLineLength: Int

        /// Creates limits; the defaults suit session data and every reply a session store sees.
        public init(
            maxBulkLength: Int = 512 * 1024 * 1024,
            maxAggregateCount: Int = 1 << 20,
            maxDepth: Int = 32,
            maxLineLength: Int = 64 * 1024
        ) {
            self.maxBulkLength = maxBulkLength
            self.maxAggregateCount = maxAggregateCount
            self.maxDepth = maxDepth
            self.maxLineLength = maxLineLength
        }
    }

    /// The limits this parser enforces.
    public let limits: Limits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: SessionError?

    /// Creates a parser with the given limits.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The number of received bytes not yet returned as replies.
    public var bufferedByteCount: Int { buffer.count - readIndex }

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
    /// - Throws: `SessionError` `.protocolError` on malformed input or when a limit is exceeded.
    public mutating func next() throws -> RESPValue? {
        if let failure { throw failure }
        guard readIndex < buffer.count else { return nil }
        let start = readIndex
        let limits = self.limits
        let result: (RESPValue, Int)?
        do {
            result = try buffer.withUnsafeBufferPointer { pointer -> (RESPValue, Int)? in
                var cursor = Cursor(bytes: pointer, index: start, limits: limits)
                guard let value = try cursor.value(depth: 0) else { return nil }
                return (value, cursor.index)
            }
        } catch let error as SessionError {
            failure = error
            throw error
        }
        guard let (value, end) = result else { return nil }
        readIndex = end
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex >= 64 * 1024 && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        return value
    }
}

/// Walks a byte buffer; every method returns `nil` when the input ends before the value does.
private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let limits: RESPParser.Limits

    static let cr: UInt8 = 13
    static let lf: UInt8 = 10

    func malformed(_ what: String) -> SessionError {
        SessionError(.protocolError, "Redis sent a malformed reply: \(what). The connection is out of step and will be closed; check that the server really speaks RESP (is it Redis, and not a proxy or another service on that port?)")
    }

    mutating func value(depth: Int) throws -> RESPValue? {
        // Attributes (`|`) annotate the value that follows them; skip them, and any run of them.
        while true {
            guard index < bytes.count else { return nil }
            let type = bytes[index]
            if type == UInt8(ascii: "|") {
                index += 1
                guard let count = try length(allowNull: false, what: "attribute") else { return nil }
                guard depth + 1 <= limits.maxDepth else { throw tooDeep() }
                guard count <= limits.maxAggregateCount / 2 else { throw tooMany(count, "attribute") }
                for _ in 0..<(count * 2) {
                    guard try value(depth: depth + 1) != nil else { return nil }
                }
                continue
            }
            index += 1
            return try body(type: type, depth: depth)
        }
    }

    private mutating func body(type: UInt8, depth: Int) throws -> RESPValue? {
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try line() else { return nil }
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            guard let line = try line() else { return nil }
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let line = try line() else { return nil }
            return .integer(try integer(line, what: "integer"))
        case UInt8(ascii: "$"):
            guard let length = try length(allowNull: true, what: "bulk string") else { return nil }
            if length < 0 { return .null }
            guard let payload = try blob(length) else { return nil }
            return .bulkString(Array(payload))
        case UInt8(ascii: "!"):
            guard let length = try length(allowNull: false, what: "blob error") else { return nil }
            guard let payload = try blob(length) else { return nil }
            return .error(String(decoding: payload, as: UTF8.self))
        case UInt8(ascii: "="):
            guard let length = try length(allowNull: false, what: "verbatim string") else { return nil }
            guard let payload = try blob(length) else { return nil }
            guard payload.count >= 4, payload[payload.startIndex + 3] == UInt8(ascii: ":") else {
                throw malformed("a verbatim string must start with a three-letter format and ':'")
            }
            let format = String(decoding: payload.prefix(3), as: UTF8.self)
            return .verbatimString(format: format, text: Array(payload.dropFirst(4)))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let kind = type == UInt8(ascii: "*") ? "array" : type == UInt8(ascii: "~") ? "set" : "push frame"
            guard let count = try length(allowNull: type == UInt8(ascii: "*"), what: kind) else { return nil }
            if count < 0 { return .null }
            guard count <= limits.maxAggregateCount else { throw tooMany(count, kind) }
            guard depth + 1 <= limits.maxDepth else { throw tooDeep() }
            var elements: [RESPValue] = []
            // Reserve only what the bytes already received could hold (3 bytes per element at least).
            elements.reserveCapacity(min(count, (bytes.count - index) / 3))
            for _ in 0..<count {
                guard let element = try value(depth: depth + 1) else { return nil }
                elements.append(element)
            }
            switch type {
            case UInt8(ascii: "*"): return .array(elements)
            case UInt8(ascii: "~"): return .set(elements)
            default: return .push(elements)
            }
        case UInt8(ascii: "%"):
            guard let count = try length(allowNull: false, what: "map") else { return nil }
            guard count <= limits.maxAggregateCount / 2 else { throw tooMany(count, "map") }
            guard depth + 1 <= limits.maxDepth else { throw tooDeep() }
            var pairs: [(key: RESPValue, value: RESPValue)] = []
            pairs.reserveCapacity(min(count, (bytes.count - index) / 6))
            for _ in 0..<count {
                guard let key = try value(depth: depth + 1) else { return nil }
                guard let value = try value(depth: depth + 1) else { return nil }
                pairs.append((key, value))
            }
            return .map(pairs)
        case UInt8(ascii: "_"):
            guard let line = try line() else { return nil }
            guard line.isEmpty else { throw malformed("a null (_) must be followed directly by CRLF") }
            return .null
        case UInt8(ascii: "#"):
            guard let line = try line() else { return nil }
            if line.count == 1 && line.first == UInt8(ascii: "t") { return .boolean(true) }
            if line.count == 1 && line.first == UInt8(ascii: "f") { return .boolean(false) }
            throw malformed("a boolean must be #t or #f")
        case UInt8(ascii: ","):
            guard let line = try line() else { return nil }
            return .double(try double(line))
        case UInt8(ascii: "("):
            guard let line = try line() else { return nil }
            var digits = line[...]
            if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw malformed("a big number must be decimal digits with an optional sign")
            }
            return .bigNumber(String(decoding: line, as: UTF8.self))
        default:
            let hex = String(type, radix: 16, uppercase: true)
            throw malformed("unknown type byte 0x\(type < 16 ? "0" : "")\(hex) at the start of a reply")
        }
    }

    /// The bytes up to the next CRLF (which is consumed); a bare CR or LF inside is malformed.
    private mutating func line() throws -> Slice<UnsafeBufferPointer<UInt8>>? {
        let start = index
        var scan = start
        let end = bytes.count
        while scan < end {
            let byte = bytes[scan]
            if byte == Cursor.cr {
                guard scan + 1 < end else { return nil }
                guard bytes[scan + 1] == Cursor.lf else { throw malformed("CR not followed by LF") }
                index = scan + 2
                return bytes[start..<scan]
            }
            if byte == Cursor.lf { throw malformed("LF without CR") }
            scan += 1
            if scan - start > limits.maxLineLength {
                throw SessionError(.protocolError, "Redis sent a line longer than \(limits.maxLineLength) bytes without CRLF; raise RESPParser.Limits.maxLineLength if this is legitimate")
            }
        }
        if end - start > limits.maxLineLength {
            throw SessionError(.protocolError, "Redis sent a line longer than \(limits.maxLineLength) bytes without CRLF; raise RESPParser.Limits.maxLineLength if this is legitimate")
        }
        return nil
    }

    /// A length or count line: `-1` when `allowNull` (RESP2 null), else a non-negative integer.
    private mutating func length(allowNull: Bool, what: String) throws -> Int? {
        guard let line = try line() else { return nil }
        if line.first == UInt8(ascii: "?") {
            throw SessionError(.unsupported, "Redis sent a streamed \(what) (RESP3 '?' length), which this client does not support")
        }
        let value = try integer(line, what: "\(what) length")
        if value == -1 && allowNull { return -1 }
        guard value >= 0 else { throw malformed("negative \(what) length \(value)") }
        guard value <= Int64(Int.max) else { throw malformed("\(what) length \(value) is out of range") }
        return Int(value)
    }

    /// `length` payload bytes followed by CRLF.
    private mutating func blob(_ length: Int) throws -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard length <= limits.maxBulkLength else {
            throw SessionError(.protocolError, "Redis announced a \(length)-byte string, over the \(limits.maxBulkLength)-byte limit; raise RESPParser.Limits.maxBulkLength if this is legitimate")
        }
        let start = index
        guard bytes.count - start >= length + 2 else { return nil }
        guard bytes[start + length] == Cursor.cr, bytes[start + length + 1] == Cursor.lf else {
            throw malformed("a \(length)-byte string is not followed by CRLF")
        }
        index = start + length + 2
        return bytes[start..<(start + length)]
    }

    private func integer(_ line: Slice<UnsafeBufferPointer<UInt8>>, what: String) throws -> Int64 {
        var digits = line[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 19 else { throw malformed("\(what) is not a 64-bit decimal integer") }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 48 && byte <= 57 else { throw malformed("\(what) contains a non-digit") }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(byte - 48))
            guard !o1 && !o2 else { throw malformed("\(what) overflows 64 bits") }
            value = sum
        }
        return negative ? -value : value
    }

    private func double(_ line: Slice<UnsafeBufferPointer<UInt8>>) throws -> Double {
        let text = String(decoding: line, as: UTF8.self)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 101 || $0 == 69 }),
              let value = Double(text) else {
            throw malformed("'\(text.prefix(40))' is not a double")
        }
        return value
    }

    private func tooDeep() -> SessionError {
        SessionError(.protocolError, "Redis sent aggregates nested deeper than \(limits.maxDepth) levels; raise RESPParser.Limits.maxDepth if this is legitimate")
    }

    private func tooMany(_ count: Int, _ kind: String) -> SessionError {
        SessionError(.protocolError, "Redis announced a \(kind) of \(count) elements, over the \(limits.maxAggregateCount)-element limit; raise RESPParser.Limits.maxAggregateCount if this is legitimate")
    }
}
