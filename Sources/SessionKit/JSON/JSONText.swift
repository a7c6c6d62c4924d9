/// The pieces of JSON text that both writers produce alike: integers, strings and arrays.
/// The compact ``JSON`` writer and the Python-compatible ``PythonJSONWriter`` differ only in
/// their separators, their floating-point text, and whether non-ASCII characters are escaped.
enum JSONText {
    /// Calls `body` with the UTF-8 of `string`.
    @inline(__always)
    static func withUTF8<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = string
        return copy.withUTF8(body)
    }

    static func writeInt(_ value: Int, into out: inout JSONBuffer) {
        out.write(reserving: 20) { o in
            // Digits are produced from the right, so count them first.
            var magnitude = value.magnitude
            var length = 1
            var probe = magnitude
            while probe >= 10 {
                probe /= 10
                length &+= 1
            }
            var start = 0
            if value < 0 {
                o.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
                start = 1
            }
            var i = start &+ length
            repeat {
                i &-= 1
                o.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10), toByteOffset: i, as: UInt8.self)
                magnitude /= 10
            } while magnitude > 0
            return start &+ length
        }
    }

    /// Writes `[`, the items with `separator` between them, and `]`.
    @inline(__always)
    static func writeArray<E: Error>(
        _ items: [SessionValue], separator: StaticString, into out: inout JSONBuffer,
        _ writeItem: (SessionValue, inout JSONBuffer) throws(E) -> Void
    ) throws(E) {
        out.reserve(1)
        out.put(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { out.append(separator) }
            first = false
            try writeItem(item, &out)
        }
        out.reserve(1)
        out.put(UInt8(ascii: "]"))
    }

    /// Writes `string` quoted, escaping `"`, `\\` and control characters as `\n`, `\u001f`
    /// and so on. With `asciiOnly` (Python's `json.dumps(ensure_ascii=True)`), 0x7F and every
    /// non-ASCII character are escaped too (`\uXXXX`, UTF-16 surrogate pairs above U+FFFF);
    /// without, they are written as they are (the output is UTF-8).
    @inline(__always)
    static func writeString(_ string: String, asciiOnly: Bool, into out: inout JSONBuffer) {
        withUTF8(string) { bytes in
            // Six output bytes per input byte at most (a control character), the quotes, and
            // eight for the last word stored whole.
            out.write(reserving: bytes.count &* 6 &+ 10) { o in
                writeEscaped(UnsafeRawBufferPointer(bytes), asciiOnly: asciiOnly, to: o)
            }
        }
    }

    /// Nonzero when some byte of `w` must be escaped: below 0x20, `"`, `\`, and with
    /// `asciiOnly` 0x7F and up. (The lowest flagged byte is always a real one; flags above it
    /// may be spurious.)
    @inline(__always)
    static func escapeFlags(_ w: UInt64, asciiOnly: Bool) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let control = (w &- ones &* 0x20) & ~w
        let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        let nonASCII = asciiOnly ? (w &+ ones) | w : 0
        return (control | special | nonASCII) & (ones &* 0x80)
    }

    private static let hex: StaticString = "0123456789abcdef"

    /// Writes `"`, the escaped bytes of `source` (valid UTF-8) and `"` at `o`, returning the
    /// number of bytes written; `o` has room for `6 * source.count + 10` bytes.
    @inline(__always)
    static func writeEscaped(_ source: UnsafeRawBufferPointer, asciiOnly: Bool, to o: UnsafeMutableRawPointer) -> Int {
        let n = source.count
        o.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        var w = 1
        var i = 0
        if let s = source.baseAddress {
            while i < n {
                // The next eight bytes, or the last few in the low bytes of a word.
                let remaining = n &- i
                var word: UInt64
                var take = 8
                if remaining >= 8 {
                    word = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                } else {
                    take = remaining
                    if n >= 8 {
                        word = UInt64(littleEndian: s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) >> (64 &- 8 &* UInt64(remaining))
                    } else {
                        word = 0
                        for j in 0..<remaining { word |= UInt64(s.load(fromByteOffset: i &+ j, as: UInt8.self)) << (8 &* UInt64(j)) }
                    }
                }
                var flags = escapeFlags(word, asciiOnly: asciiOnly)
                if take < 8 { flags &= (1 << (8 &* UInt64(take))) &- 1 }
                // Store all eight; only the clean bytes are kept, and the rest of the output is
                // at least as long or within the reservation's slack.
                o.storeBytes(of: word.littleEndian, toByteOffset: w, as: UInt64.self)
                if flags == 0 {
                    i &+= take
                    w &+= take
                    continue
                }
                let clean = flags.trailingZeroBitCount >> 3
                i &+= clean
                w &+= clean
                escapeOne(s, &i, o, &w)
            }
        }
        o.storeBytes(of: UInt8(ascii: "\""), toByteOffset: w, as: UInt8.self)
        return w &+ 1
    }

    /// Writes the escape for the character starting at `s[i]`, which needs one.
    @inline(never)
    static func escapeOne(_ s: UnsafeRawPointer, _ i: inout Int, _ o: UnsafeMutableRawPointer, _ w: inout Int) {
        func put(_ a: UInt8, _ b: UInt8) {
            o.storeBytes(of: a, toByteOffset: w, as: UInt8.self)
            o.storeBytes(of: b, toByteOffset: w &+ 1, as: UInt8.self)
            w &+= 2
        }
        func escape(_ unit: UInt32) {
            let digits = hex.utf8Start
            o.storeBytes(of: 0x5C, toByteOffset: w, as: UInt8.self)
            o.storeBytes(of: UInt8(ascii: "u"), toByteOffset: w &+ 1, as: UInt8.self)
            o.storeBytes(of: digits[Int(unit >> 12 & 0xF)], toByteOffset: w &+ 2, as: UInt8.self)
            o.storeBytes(of: digits[Int(unit >> 8 & 0xF)], toByteOffset: w &+ 3, as: UInt8.self)
            o.storeBytes(of: digits[Int(unit >> 4 & 0xF)], toByteOffset: w &+ 4, as: UInt8.self)
            o.storeBytes(of: digits[Int(unit & 0xF)], toByteOffset: w &+ 5, as: UInt8.self)
            w &+= 6
        }
        let c = s.load(fromByteOffset: i, as: UInt8.self)
        if c < 0x80 {
            switch c {
            case 0x22: put(0x5C, 0x22)
            case 0x5C: put(0x5C, 0x5C)
            case 0x0A: put(0x5C, UInt8(ascii: "n"))
            case 0x0D: put(0x5C, UInt8(ascii: "r"))
            case 0x09: put(0x5C, UInt8(ascii: "t"))
            case 0x08: put(0x5C, UInt8(ascii: "b"))
            case 0x0C: put(0x5C, UInt8(ascii: "f"))
            default: escape(UInt32(c))
            }
            i &+= 1
            return
        }
        // A String holds valid UTF-8: decode one scalar.
        let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
        var scalar = UInt32(c) & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F)
        for k in 1..<length { scalar = scalar << 6 | UInt32(s.load(fromByteOffset: i &+ k, as: UInt8.self) & 0x3F) }
        if scalar > 0xFFFF {
            let v = scalar &- 0x10000
            escape(0xD800 &+ (v >> 10))
            escape(0xDC00 &+ (v & 0x3FF))
        } else {
            escape(scalar)
        }
        i &+= length
    }
}
