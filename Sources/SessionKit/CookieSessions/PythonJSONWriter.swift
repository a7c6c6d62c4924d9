/// Writes JSON exactly as Python's `json.dumps` does with its defaults (pyramid's
/// `JSONSerializer`): `", "` and `": "` separators, `ensure_ascii` escapes, floats as
/// `repr` writes them. Object keys are written in code-point order, so the output for a
/// given value is always the same.
enum PythonJSONWriter {
    static func write(_ value: SessionValue, into out: inout JSONBuffer) throws(SessionError) {
        switch value {
        case .null:
            out.append("null")
        case .bool(let b):
            if b { out.append("true") } else { out.append("false") }
        case .int(let i):
            writeInt(i, into: &out)
        case .double(let d):
            try writeDouble(d, into: &out)
        case .string(let s):
            writeString(s, into: &out)
        case .array(let items):
            out.reserve(1)
            out.put(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first {
                    out.reserve(2)
                    out.put(UInt8(ascii: ","), UInt8(ascii: " "))
                }
                first = false
                try write(item, into: &out)
            }
            out.reserve(1)
            out.put(UInt8(ascii: "]"))
        case .object(let members):
            try writeObject(members, into: &out)
        }
    }

    /// A member's place in the sorted order: the first eight bytes of its key (big-endian,
    /// zero-padded), which decide most comparisons, and where it is in the dictionary.
    struct SortEntry {
        var prefix: UInt64
        var index: Dictionary<String, SessionValue>.Index
    }

    static func writeObject(_ members: [String: SessionValue], into out: inout JSONBuffer) throws(SessionError) {
        let count = members.count
        out.reserve(1)
        out.put(UInt8(ascii: "{"))
        if count == 1, let (key, value) = members.first {
            try writeMember(key, value, into: &out)
        } else if count > 1 {
            try withUnsafeTemporaryAllocation(of: SortEntry.self, capacity: count) { (entries) throws(SessionError) in
                var position = members.startIndex
                for i in 0..<count {
                    entries.initializeElement(at: i, to: SortEntry(prefix: keyPrefix(members.keys[position]), index: position))
                    members.formIndex(after: &position)
                }
                defer { _ = entries.deinitialize() }
                func precedes(_ a: SortEntry, _ b: SortEntry) -> Bool {
                    a.prefix != b.prefix ? a.prefix < b.prefix : utf8Precedes(members.keys[a.index], members.keys[b.index])
                }
                var sorted = entries
                if count <= 16 {
                    for j in 1..<count {
                        let entry = sorted[j]
                        var k = j
                        while k > 0 && precedes(entry, sorted[k &- 1]) {
                            sorted[k] = sorted[k &- 1]
                            k &-= 1
                        }
                        sorted[k] = entry
                    }
                } else {
                    sorted.sort(by: precedes)
                }
                for i in 0..<count {
                    if i > 0 {
                        out.reserve(2)
                        out.put(UInt8(ascii: ","), UInt8(ascii: " "))
                    }
                    let (key, value) = members[sorted[i].index]
                    try writeMember(key, value, into: &out)
                }
            }
        }
        out.reserve(1)
        out.put(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func writeMember(_ key: String, _ value: SessionValue, into out: inout JSONBuffer) throws(SessionError) {
        writeString(key, into: &out)
        out.reserve(2)
        out.put(UInt8(ascii: ":"), UInt8(ascii: " "))
        try write(value, into: &out)
    }

    /// Calls `body` with the UTF-8 of `string`.
    @inline(__always)
    static func withUTF8<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = string
        return copy.withUTF8(body)
    }

    /// The first eight bytes of `key`'s UTF-8, big-endian, zero-padded.
    static func keyPrefix(_ key: String) -> UInt64 {
        withUTF8(key) { bytes in
            var prefix: UInt64 = 0
            for i in 0..<Swift.min(8, bytes.count) { prefix |= UInt64(bytes[i]) << (56 &- 8 &* UInt64(i)) }
            return prefix
        }
    }

    /// Code-point order, which is UTF-8 byte order (Python's `sorted` on `str`).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        withUTF8(a) { x in
            withUTF8(b) { y in
                let n = Swift.min(x.count, y.count)
                var i = 0
                while i < n {
                    if x[i] != y[i] { return x[i] < y[i] }
                    i &+= 1
                }
                return x.count < y.count
            }
        }
    }

    // MARK: Numbers

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

    /// A finite double as Python's `repr` writes it: the shortest digits that read back as
    /// the same double, in fixed notation from 1e-4 up to 1e16 and in exponent notation
    /// otherwise.
    static func writeDouble(_ d: Double, into out: inout JSONBuffer) throws(SessionError) {
        guard d.isFinite else {
            throw SessionError(.encodingFailed, "a session value is \(d), which JSON cannot represent; store a finite number or a string")
        }
        if let (mantissa, fractionDigits) = shortFixed(d.magnitude) {
            writeFixed(negative: d.sign == .minus, mantissa: mantissa, fractionDigits: fractionDigits, into: &out)
            return
        }
        withUTF8(d.description) { out.append(UnsafeRawBufferPointer($0)) }
    }

    /// 10^0 through 10^19.
    static let integerPowersOfTen: [UInt64] = (0...19).map { k in (0..<k).reduce(1) { r, _ in r * 10 } }

    /// For `1e-3 <= a < 2^52`: the shortest decimal `m / 10^k` that reads back as `a`, and
    /// of those the closest to `a`, as `(m, k)`; `nil` out of that range and in the rare
    /// case of two equally close candidates. That is what Python's `repr` (and
    /// `Double.description`) write, in fixed notation for this range.
    ///
    /// With `a = M * 2^-s` exactly, `a * 10^k * 2^s = M * 10^k` is an integer, so the nearest
    /// candidate at each scale `k` and its distance to `a` are computed exactly in 128 bits.
    /// The first scale whose nearest candidate lies within half a unit in the last place of
    /// `a` (a quarter below powers of two) gives the answer.
    static func shortFixed(_ a: Double) -> (UInt64, Int)? {
        guard a >= 1e-3 && a < 0x1p52 else { return nil }
        let significand = a.significandBitPattern
        let m53 = significand | 1 << 52
        let shift = 1075 &- Int(a.exponentBitPattern)  // a = m53 * 2^-shift, 1 <= shift <= 62
        let half = UInt128(1) << (shift &- 1)
        let fractionMask = (UInt128(1) << shift) &- 1
        return integerPowersOfTen.withUnsafeBufferPointer { powers -> (UInt64, Int)? in
            for k in 0..<powers.count {
                let p = powers[k]
                let (high, low) = m53.multipliedFullWidth(by: p)
                let x = UInt128(high) << 64 | UInt128(low)  // a * 10^k * 2^shift
                let m = (x &+ half) >> shift
                let scaledCandidate = m << shift
                let above = scaledCandidate >= x
                let distance = above ? scaledCandidate &- x : x &- scaledCandidate
                // |candidate - a| < ulp / 2, i.e. 2 * distance < 10^k (4 * distance below a
                // power of two, where the gap to the next double down is half as wide).
                let factor: UInt128 = significand == 0 && !above ? 4 : 2
                let limit = UInt128(p)
                if distance &* factor < limit {
                    // Two candidates equally close: leave the choice to the general path.
                    if x & fractionMask == half { return nil }
                    return (UInt64(truncatingIfNeeded: m), k)
                }
                if distance &* factor == limit { return nil }  // reads back only by ties-to-even
            }
            return nil
        }
    }

    /// Writes `mantissa / 10^fractionDigits` in fixed notation with at least one fraction
    /// digit ("2.0", "0.001", "19.99").
    static func writeFixed(negative: Bool, mantissa: UInt64, fractionDigits: Int, into out: inout JSONBuffer) {
        out.write(reserving: 40) { o in
            // The digits of the mantissa, right-aligned in a 20-byte scratch area.
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { scratch in
                var m = mantissa
                var i = 24
                repeat {
                    i &-= 1
                    scratch[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
                    m /= 10
                } while m > 0
                let length = 24 &- i
                var w = 0
                if negative {
                    o.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
                    w = 1
                }
                let source = scratch.baseAddress! + i
                if fractionDigits == 0 {
                    (o + w).copyMemory(from: source, byteCount: length)
                    w &+= length
                    o.storeBytes(of: UInt8(ascii: "."), toByteOffset: w, as: UInt8.self)
                    o.storeBytes(of: UInt8(ascii: "0"), toByteOffset: w &+ 1, as: UInt8.self)
                    return w &+ 2
                }
                if length > fractionDigits {
                    let integral = length &- fractionDigits
                    (o + w).copyMemory(from: source, byteCount: integral)
                    w &+= integral
                    o.storeBytes(of: UInt8(ascii: "."), toByteOffset: w, as: UInt8.self)
                    w &+= 1
                    (o + w).copyMemory(from: source + integral, byteCount: fractionDigits)
                    return w &+ fractionDigits
                }
                o.storeBytes(of: UInt8(ascii: "0"), toByteOffset: w, as: UInt8.self)
                o.storeBytes(of: UInt8(ascii: "."), toByteOffset: w &+ 1, as: UInt8.self)
                w &+= 2
                let zeros = fractionDigits &- length
                (o + w).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "0"), count: zeros)
                w &+= zeros
                (o + w).copyMemory(from: source, byteCount: length)
                return w &+ length
            }
        }
    }

    // MARK: Strings

    /// A string as Python's `json.dumps(ensure_ascii=True)` writes it: printable ASCII as
    /// is, everything else escaped (`\uXXXX`, UTF-16 surrogate pairs above U+FFFF).
    static func writeString(_ string: String, into out: inout JSONBuffer) {
        withUTF8(string) { bytes in
            // Six output bytes per input byte at most (a control character), the quotes, and
            // eight for the last word stored whole.
            out.write(reserving: bytes.count &* 6 &+ 10) { o in
                writeEscaped(UnsafeRawBufferPointer(bytes), to: o)
            }
        }
    }

    /// Nonzero when some byte of `w` must be escaped: below 0x20, `"`, `\`, or 0x7F and up.
    /// (The lowest flagged byte is always a real one; flags above it may be spurious.)
    @inline(__always)
    static func escapeFlags(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let control = (w &- ones &* 0x20) & ~w
        let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        return (control | special | (w &+ ones) | w) & (ones &* 0x80)
    }

    private static let hex: StaticString = "0123456789abcdef"

    /// Writes `"`, the escaped bytes of `source` (valid UTF-8) and `"` at `o`, returning the
    /// number of bytes written; `o` has room for `6 * source.count + 10` bytes.
    static func writeEscaped(_ source: UnsafeRawBufferPointer, to o: UnsafeMutableRawPointer) -> Int {
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
                var flags = escapeFlags(word)
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
