/// Writes JSON exactly as Python's `json.dumps` does with its defaults (pyramid's
/// `JSONSerializer`): `", "` and `": "` separators, `ensure_ascii` escapes, floats as
/// `repr` writes them. Object keys are written in code-point order, so the output for a
/// given value is always the same. Integers, strings and arrays are written by ``JSONText``,
/// as for the compact ``JSON`` writer.
enum PythonJSONWriter {
    static func write(_ value: SessionValue, into out: inout JSONBuffer) throws(SessionError) {
        switch value {
        case .null:
            out.append("null")
        case .bool(let b):
            if b { out.append("true") } else { out.append("false") }
        case .int(let i):
            JSONText.writeInt(i, into: &out)
        case .double(let d):
            try writeDouble(d, into: &out)
        case .string(let s):
            JSONText.writeString(s, asciiOnly: true, into: &out)
        case .array(let items):
            try JSONText.writeArray(items, separator: ", ", into: &out, write)
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
        JSONText.writeString(key, asciiOnly: true, into: &out)
        out.reserve(2)
        out.put(UInt8(ascii: ":"), UInt8(ascii: " "))
        try write(value, into: &out)
    }

    /// The first eight bytes of `key`'s UTF-8, big-endian, zero-padded.
    static func keyPrefix(_ key: String) -> UInt64 {
        JSONText.withUTF8(key) { bytes in
            var prefix: UInt64 = 0
            for i in 0..<Swift.min(8, bytes.count) { prefix |= UInt64(bytes[i]) << (56 &- 8 &* UInt64(i)) }
            return prefix
        }
    }

    /// Code-point order, which is UTF-8 byte order (Python's `sorted` on `str`).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        JSONText.withUTF8(a) { x in
            JSONText.withUTF8(b) { y in
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
        JSONText.withUTF8(d.description) { out.append(UnsafeRawBufferPointer($0)) }
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
}
