extension JSON {
    /// The strict RFC 8259 parser behind ``JSON/decode(buffer:)``: bounded depth, no
    /// allocation sized by the input.
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
