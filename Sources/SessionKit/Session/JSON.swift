/// The compact JSON codec for session data.
///
/// Encoding produces compact JSON (no spaces), which every JSON reader accepts, including
/// Python's `json` and `ujson` used by sanic_session. Decoding is strict RFC 8259 JSON with a
/// nesting limit; it never allocates from a length found in the input.
enum JSON {
    /// The deepest nesting of arrays and objects accepted when decoding.
    static let maximumDepth = 64

    // MARK: Encoding

    static func encode(_ value: SessionValue) throws(SessionError) -> [UInt8] {
        try JSONBuffer.withScratch(1024) { (out) throws(SessionError) in
            try write(value, into: &out)
            return out.array
        }
    }

    /// Encodes a stored session: a JSON object whose first member is ``Session/createdKey``
    /// with `created`, followed by `object`'s members (which must not include that key).
    static func encodeStoredSession(_ object: [String: SessionValue], created: Int) throws(SessionError) -> [UInt8] {
        try JSONBuffer.withScratch(1024) { (out) throws(SessionError) in try encodeStoredSession(object, created: created, into: &out) }
    }

    private static func encodeStoredSession(
        _ object: [String: SessionValue], created: Int, into out: inout JSONBuffer
    ) throws(SessionError) -> [UInt8] {
        out.append(#"{"_sk_created":"#)
        writeInt(created, into: &out)
        for (key, value) in object {
            out.reserve(1)
            out.put(UInt8(ascii: ","))
            writeString(key, into: &out)
            out.reserve(1)
            out.put(UInt8(ascii: ":"))
            try write(value, into: &out)
        }
        out.reserve(1)
        out.put(UInt8(ascii: "}"))
        return out.array
    }

    /// Appends `d.description`, the shortest text that reads back as `d`, without making a
    /// `String`: `Double.write(to:)` hands the same text to the stream from a buffer on the
    /// stack, while `description` copies it into a String, which allocates past 15 bytes.
    static func writeShortest(_ d: Double, into out: inout JSONBuffer) {
        var fitted = false
        out.write(reserving: ASCIIWriter.capacity) { end in
            var writer = ASCIIWriter(start: end)
            d.write(to: &writer)
            fitted = !writer.overflowed
            return fitted ? writer.count : 0
        }
        if !fitted {
            var text = d.description
            text.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
        }
    }

    static func write(_ value: SessionValue, into out: inout JSONBuffer) throws(SessionError) {
        switch value {
        case .null:
            out.append("null")
        case .bool(let b):
            out.append(b ? "true" : "false")
        case .int(let i):
            writeInt(i, into: &out)
        case .double(let d):
            guard d.isFinite else {
                throw SessionError(
                    .encodingFailed,
                    "a session value is \(d), which JSON cannot represent; store a finite number or a string")
            }
            if d == d.rounded(.towardZero), abs(d) < 1e15 {
                // Integral doubles keep a fraction so they read back as doubles ("2.0").
                if d == 0 && d.sign == .minus { out.append("-") }
                writeInt(Int(d), into: &out)
                out.append(".0")
            } else {
                writeShortest(d, into: &out)
            }
        case .string(let s):
            writeString(s, into: &out)
        case .array(let items):
            out.reserve(1)
            out.put(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first {
                    out.reserve(1)
                    out.put(UInt8(ascii: ","))
                }
                first = false
                try write(item, into: &out)
            }
            out.reserve(1)
            out.put(UInt8(ascii: "]"))
        case .object(let members):
            out.reserve(1)
            out.put(UInt8(ascii: "{"))
            var first = true
            for (key, item) in members {
                out.reserve(1)
                if !first { out.put(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.reserve(1)
                out.put(UInt8(ascii: ":"))
                try write(item, into: &out)
            }
            out.reserve(1)
            out.put(UInt8(ascii: "}"))
        }
    }

    static func writeInt(_ value: Int, into out: inout JSONBuffer) {
        // At most 20 characters: a sign and 19 digits.
        out.write(reserving: 24) { base in
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { buffer in
                var magnitude = value.magnitude
                var i = buffer.count
                repeat {
                    i &-= 1
                    buffer[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                    magnitude /= 10
                } while magnitude > 0
                if value < 0 {
                    i &-= 1
                    buffer[i] = UInt8(ascii: "-")
                }
                base.copyMemory(from: buffer.baseAddress! + i, byteCount: buffer.count &- i)
                return buffer.count &- i
            }
        }
    }

    /// Writes `string` quoted, escaping `"`, `\\` and control characters (other characters,
    /// non-ASCII included, as they are: the output is UTF-8).
    static func writeString(_ string: String, into out: inout JSONBuffer) {
        var string = string
        string.withUTF8 { bytes in
            // Quotes plus the worst case of six bytes per input byte.
            out.reserve(bytes.count &* 6 &+ 2)
            out.put(UInt8(ascii: "\""))
            var runStart = 0
            var i = 0
            while i < bytes.count {
                // Eight bytes at a time while none needs escaping.
                if i &+ 8 <= bytes.count {
                    let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                    if !needsEscape(word) {
                        i &+= 8
                        continue
                    }
                }
                let c = bytes[i]
                if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
                    i &+= 1
                    continue
                }
                if runStart < i { out.put(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<i])) }
                i &+= 1
                runStart = i
                switch c {
                case UInt8(ascii: "\""): out.put(UInt8(ascii: "\\"), UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.put(UInt8(ascii: "\\"), UInt8(ascii: "\\"))
                case 0x0A: out.put(UInt8(ascii: "\\"), UInt8(ascii: "n"))
                case 0x0D: out.put(UInt8(ascii: "\\"), UInt8(ascii: "r"))
                case 0x09: out.put(UInt8(ascii: "\\"), UInt8(ascii: "t"))
                case 0x08: out.put(UInt8(ascii: "\\"), UInt8(ascii: "b"))
                case 0x0C: out.put(UInt8(ascii: "\\"), UInt8(ascii: "f"))
                default:
                    out.put(UInt8(ascii: "\\"), UInt8(ascii: "u"))
                    out.put(UInt8(ascii: "0"), UInt8(ascii: "0"))
                    out.put(hexDigit(c >> 4), hexDigit(c & 0xF))
                }
            }
            if runStart < bytes.count { out.put(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart...])) }
            out.put(UInt8(ascii: "\""))
        }
    }

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ nibble &- 10
    }

    /// True when one of the eight bytes of `word` is a control character, `"` or `\\`.
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20 (bytes of 0x80 and above are excluded by `~word`).
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote & highs
        let zeroBackslash = (backslash &- ones) & ~backslash & highs
        return (control | zeroQuote | zeroBackslash) != 0
    }

    // MARK: Decoding

    /// Decodes one JSON value that fills `bytes` (surrounding whitespace allowed).
    static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws -> SessionValue {
        if let result = try bytes.withContiguousStorageIfAvailable({ try decode(buffer: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return try Array(bytes).withUnsafeBytes { try decode(buffer: $0) }
    }

    static func decode(buffer: UnsafeRawBufferPointer) throws(SessionError) -> SessionValue {
        try withPendingScratch { (scratch) throws(SessionError) in try decode(buffer: buffer, scratch: scratch) }
    }

    private static func decode(
        buffer: UnsafeRawBufferPointer, scratch: UnsafeMutableBufferPointer<(String, SessionValue)>
    ) throws(SessionError) -> SessionValue {
        var parser = Parser(bytes: buffer, scratch: scratch)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    /// Decodes a stored session: a JSON object whose ``Session/createdKey`` member, when
    /// present, is returned apart instead of being placed in the dictionary (the last one wins
    /// if the key repeats, as for any key). Returns `nil` when the value is valid JSON but not
    /// an object.
    static func decodeStoredSession(_ bytes: [UInt8]) throws -> (data: [String: SessionValue], created: SessionValue?)? {
        try bytes.withUnsafeBytes { try decodeStoredSession(buffer: $0) }
    }

    static func decodeStoredSession(
        buffer: UnsafeRawBufferPointer
    ) throws(SessionError) -> (data: [String: SessionValue], created: SessionValue?)? {
        try withPendingScratch { (scratch) throws(SessionError) in try decodeStoredSession(buffer: buffer, scratch: scratch) }
    }

    /// Calls `body` with stack space for the parser's first pending values, so that small
    /// documents need no heap allocation for them.
    @inline(__always)
    private static func withPendingScratch<R>(
        _ body: (UnsafeMutableBufferPointer<(String, SessionValue)>) throws(SessionError) -> R
    ) throws(SessionError) -> R {
        try withUnsafeTemporaryAllocation(of: (String, SessionValue).self, capacity: 16) { (scratch) throws(SessionError) in
            try body(scratch)
        }
    }

    private static func decodeStoredSession(
        buffer: UnsafeRawBufferPointer, scratch: UnsafeMutableBufferPointer<(String, SessionValue)>
    ) throws(SessionError) -> (data: [String: SessionValue], created: SessionValue?)? {
        var parser = Parser(bytes: buffer, scratch: scratch)
        parser.skipWhitespace()
        guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: "{") else {
            // Valid JSON of another type is "not a session"; invalid JSON is an error.
            _ = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return nil
        }
        var created: SessionValue?
        let data = try parser.parseObject(depth: 1, extractingCreated: &created)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
        return (data, created)
    }

    /// Values parsed but not yet placed in their array or object, kept on one stack for the
    /// whole document so that every array and dictionary is created once at its final size.
    struct PendingValues: ~Copyable {
        private var base: UnsafeMutablePointer<(String, SessionValue)>?
        private(set) var count = 0
        private var capacity = 0
        /// False while the values are in the caller's scratch space.
        private var ownsMemory = true

        init() {}

        /// Starts in `scratch` (uninitialized memory the caller keeps alive for the stack's
        /// lifetime), moving to the heap only if more values are pending at once.
        init(scratch: UnsafeMutableBufferPointer<(String, SessionValue)>) {
            base = scratch.baseAddress
            capacity = scratch.count
            ownsMemory = false
        }

        deinit {
            if let base {
                base.deinitialize(count: count)
                if ownsMemory { base.deallocate() }
            }
        }

        @inline(__always)
        mutating func push(_ key: String, _ value: SessionValue) {
            if count == capacity { grow() }
            (base.unsafelyUnwrapped + count).initialize(to: (key, value))
            count &+= 1
        }

        @inline(never)
        private mutating func grow() {
            let newCapacity = Swift.max(16, capacity * 2)
            let newBase = UnsafeMutablePointer<(String, SessionValue)>.allocate(capacity: newCapacity)
            if let base {
                newBase.moveInitialize(from: base, count: count)
                if ownsMemory { base.deallocate() }
            }
            base = newBase
            capacity = newCapacity
            ownsMemory = true
        }

        /// Removes the entries from `start` on and returns them as an object; a repeated key
        /// keeps its last value.
        mutating func popObject(from start: Int) -> [String: SessionValue] {
            // Nothing pushed: an object whose only members were taken out (stored sessions'
            // creation time), possibly before anything was ever pushed.
            guard count > start else { return [:] }
            let base = self.base.unsafelyUnwrapped
            // Sized from the entry count up front. (This initializer is specialized here;
            // `init(minimumCapacity:)` and `reserveCapacity` look up the storage type at run
            // time on every call.)
            let object = [String: SessionValue](MovingEntries(cursor: base + start, end: base + count)) { _, last in last }
            count = start
            return object
        }

        /// Moves entries out of the stack, in order.
        struct MovingEntries: Sequence, IteratorProtocol {
            var cursor: UnsafeMutablePointer<(String, SessionValue)>
            let end: UnsafeMutablePointer<(String, SessionValue)>

            var underestimatedCount: Int { end - cursor }

            mutating func next() -> (String, SessionValue)? {
                guard cursor < end else { return nil }
                defer { cursor += 1 }
                return cursor.move()
            }
        }

        /// Removes the entries from `start` on and returns their values as an array.
        mutating func popArray(from start: Int) -> [SessionValue] {
            let base = self.base.unsafelyUnwrapped
            let n = count &- start
            // (`reserveCapacity` is specialized here; `init(unsafeUninitializedCapacity:)`
            // looks up the storage type at run time on every call.)
            var items: [SessionValue] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append((base + start + i).move().1) }
            count = start
            return items
        }
    }

    struct Parser: ~Copyable {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        var pending = PendingValues()

        init(bytes: UnsafeRawBufferPointer, scratch: UnsafeMutableBufferPointer<(String, SessionValue)>) {
            self.bytes = bytes
            self.pending = PendingValues(scratch: scratch)
        }

        func error(_ what: String) -> SessionError {
            SessionError(.malformedData, "invalid JSON at byte \(index): \(what)")
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString, _ value: SessionValue) throws(SessionError) -> SessionValue {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("truncated literal") }
            let p = literal.utf8Start
            for i in 0..<count where bytes[index + i] != p[i] { throw error("invalid literal") }
            index += count
            return value
        }

        mutating func parseValue(depth: Int) throws(SessionError) -> SessionValue {
            guard index < bytes.count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character")
            }
        }

        mutating func parseObject(depth: Int) throws(SessionError) -> [String: SessionValue] {
            var unused: SessionValue?
            return try parseObject(depth: depth, extractingCreated: &unused, extract: false)
        }

        /// Parses an object; with `extract`, a member named ``Session/createdKey`` goes to
        /// `created` instead of the dictionary.
        @inline(__always)
        mutating func parseObject(
            depth: Int, extractingCreated created: inout SessionValue?, extract: Bool = true
        ) throws(SessionError) -> [String: SessionValue] {
            guard depth <= JSON.maximumDepth else { throw error("nesting deeper than \(JSON.maximumDepth)") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
                index += 1
                return [:]
            }
            let first = pending.count
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                if extract && key.utf8.count == 11 && key == Session.createdKey {
                    created = value
                } else {
                    pending.push(key, value)
                }
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return pending.popObject(from: first)
                }
                throw error("expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws(SessionError) -> SessionValue {
            guard depth <= JSON.maximumDepth else { throw error("nesting deeper than \(JSON.maximumDepth)") }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            let first = pending.count
            while true {
                skipWhitespace()
                let value = try parseValue(depth: depth)
                pending.push("", value)
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(pending.popArray(from: first))
                }
                throw error("expected ',' or ']'")
            }
        }

        mutating func parseString() throws(SessionError) -> String {
            index += 1
            let start = index
            let end = bytes.count
            // OR of every byte scanned: its high bit tells whether the string is all ASCII.
            var seen: UInt64 = 0
            // Eight bytes at a time while none is a quote, a backslash or a control character.
            if let base = bytes.baseAddress {
                let ones: UInt64 = 0x0101_0101_0101_0101
                while end &- index >= 8 {
                    let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    let quote = w ^ (ones &* 0x22)
                    let backslash = w ^ (ones &* 0x5C)
                    let stop = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)) & (ones &* 0x80)
                    if stop == 0 {
                        seen |= w
                        index &+= 8
                        continue
                    }
                    // The lowest flagged byte is a real stop; the bytes before it are text.
                    let plain = stop.trailingZeroBitCount >> 3
                    seen |= w & ((1 << (UInt64(plain) &* 8)) &- 1)
                    index &+= plain
                    break
                }
            }
            while index < end {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    // ASCII is valid UTF-8: skip the generic validation.
                    if seen & 0x8080_8080_8080_8080 == 0 { return String(decoding: raw, as: UTF8.self) }
                    guard let s = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw error("control character in string") }
                seen |= UInt64(c)
                index += 1
            }
            return try parseEscapedString(from: start)
        }

        /// The rest of a string that has escapes; `start` is where its text began and
        /// `index` is at the first backslash (or the end of the input).
        mutating func parseEscapedString(from start: Int) throws(SessionError) -> String {
            var out = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    index += 1
                    guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                    return s
                }
                if c < 0x20 { throw error("control character in string") }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    index += 1
                    continue
                }
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in string") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired surrogate in string")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid escape") }
                    out.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw error("invalid escape")
                }
            }
            throw error("unterminated string")
        }

        mutating func parseHex4() throws(SessionError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: throw error("invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        /// 10^0 through 10^22, every one exactly representable as a `Double`.
        static let powersOfTen: [Double] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
            1e19, 1e20, 1e21, 1e22,
        ]

        @inline(__always)
        func digitAt(_ i: Int) -> UInt8? {
            guard i < bytes.count else { return nil }
            let d = bytes[i] &- UInt8(ascii: "0")
            return d < 10 ? d : nil
        }

        mutating func parseNumber() throws(SessionError) -> SessionValue {
            let start = index
            var negative = false
            if bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            guard digitAt(index) != nil else { throw error("invalid number") }
            var integral = true
            var overflow = false
            var magnitude: UInt64 = 0
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while let d = digitAt(index) {
                    let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(UInt64(d))
                    if o1 || o2 { overflow = true }
                    magnitude = m2
                    index += 1
                }
            }
            // The digits as an integer mantissa and a power of ten, while they fit exactly.
            var mantissa = magnitude
            var exact = !overflow
            var exponent = 0
            if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
                integral = false
                index += 1
                let digits = index
                while let d = digitAt(index) {
                    if mantissa < 100_000_000_000_000_000 {
                        mantissa = mantissa &* 10 &+ UInt64(d)
                        exponent -= 1
                    } else {
                        exact = false
                    }
                    index += 1
                }
                guard index > digits else { throw error("invalid number: no digits after '.'") }
            }
            if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
                integral = false
                index += 1
                var exponentNegative = false
                if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                    exponentNegative = bytes[index] == UInt8(ascii: "-")
                    index += 1
                }
                let digits = index
                var written = 0
                while let d = digitAt(index) {
                    if written < 10_000 { written = written * 10 + Int(d) }
                    index += 1
                }
                guard index > digits else { throw error("invalid number: no digits in exponent") }
                exponent += exponentNegative ? -written : written
            }
            if integral && !overflow {
                if negative {
                    if magnitude <= UInt64(Int.max) + 1 { return .int(magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)) }
                } else if magnitude <= UInt64(Int.max) {
                    return .int(Int(magnitude))
                }
            }
            // Exact mantissa and power of ten: one correctly rounded operation (Clinger's fast path).
            if exact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
                let d = Self.powersOfTen.withUnsafeBufferPointer { powers in
                    exponent < 0 ? Double(mantissa) / powers[-exponent] : Double(mantissa) * powers[exponent]
                }
                return .double(negative ? -d : d)
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let d = Double(text), d.isFinite else { throw error("number out of range") }
            return .double(d)
        }
    }
}
