/// URL-safe base64 (RFC 4648 section 5), as used in cookies and session IDs.
///
/// Encoding never emits padding. Decoding is strict: any character outside the
/// URL-safe alphabet (including `+`, `/`, whitespace) is an error; missing padding is
/// accepted, and ``DecodeResult/isCanonical`` tells whether the input was exactly what
/// ``encode(_:)`` would produce for the decoded bytes.
public enum Base64URL {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    @usableFromInline
    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    /// The number of characters ``encode(_:)`` produces for `byteCount` bytes.
    @inlinable
    public static func encodedLength(of byteCount: Int) -> Int {
        let remainder = byteCount % 3
        return (byteCount / 3) * 4 + (remainder == 0 ? 0 : remainder + 1)
    }

    /// Encodes bytes as unpadded base64url text.
    @inlinable
    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        String(unsafeUninitializedCapacity: encodedLength(of: bytes.count)) { encode(bytes, into: $0) }
    }

    /// Encodes bytes as unpadded base64url text, returned as its ASCII bytes.
    @inlinable
    public static func encodeToBytes<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        [UInt8](unsafeUninitializedCapacity: encodedLength(of: bytes.count)) { out, count in
            count = encode(bytes, into: out)
        }
    }

    /// Writes the encoding of `bytes` to `out`, which must hold ``encodedLength(of:)`` bytes,
    /// and returns the number written.
    @inlinable
    static func encode<Bytes: Collection>(_ bytes: Bytes, into out: UnsafeMutableBufferPointer<UInt8>) -> Int
    where Bytes.Element == UInt8 {
        guard let target = out.baseAddress else { return 0 }
        if let written = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0), into: UnsafeMutableRawPointer(target)) }) {
            return written
        }
        return encodeByIterating(bytes, into: out)
    }

    /// Writes the unpadded encoding of the bytes in `input` to `out` and returns the number
    /// of characters written.
    ///
    /// - Precondition: `out` holds at least ``encodedLength(of:)`` bytes.
    public static func encode(bytes input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let length = encodedLength(of: input.count)
        precondition(out.count >= length, "the output buffer is smaller than the encoding")
        guard length > 0, let target = out.baseAddress else { return 0 }
        return encode(input, into: target)
    }

    /// Pairs of output characters for every 12-bit input value (character for the high six
    /// bits in the low byte), so one lookup writes two characters.
    @usableFromInline
    static let pairs: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 4096)
        for i in 0..<4096 { table[i] = UInt16(alphabet[i >> 6]) | UInt16(alphabet[i & 63]) << 8 }
        return table
    }()

    /// Writes the encoding of the bytes in `input` to `out`, which must have room for
    /// ``encodedLength(of:)`` bytes, and returns the number written.
    ///
    /// Six input bytes become eight characters per step, through a table of character
    /// pairs.
    @usableFromInline
    static func encode(_ input: UnsafeRawBufferPointer, into o: UnsafeMutableRawPointer) -> Int {
        let count = input.count
        guard count > 0, let source = input.baseAddress else { return 0 }
        return pairs.withUnsafeBufferPointer { pairs in
            let pairs = pairs.baseAddress!
            var i = 0
            var w = 0
            // Eight bytes are loaded for every six used, so stop while eight remain.
            while i + 8 <= count {
                let v = UInt64(bigEndian: source.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let a = pairs[Int(truncatingIfNeeded: v >> 52)]
                let b = pairs[Int(truncatingIfNeeded: v >> 40) & 0xFFF]
                let c = pairs[Int(truncatingIfNeeded: v >> 28) & 0xFFF]
                let d = pairs[Int(truncatingIfNeeded: v >> 16) & 0xFFF]
                let word = UInt64(a) | UInt64(b) << 16 | UInt64(c) << 32 | UInt64(d) << 48
                o.storeBytes(of: word.littleEndian, toByteOffset: w, as: UInt64.self)
                i += 6
                w += 8
            }
            while i + 3 <= count {
                let v = Int(source.load(fromByteOffset: i, as: UInt8.self)) << 16
                    | Int(source.load(fromByteOffset: i + 1, as: UInt8.self)) << 8
                    | Int(source.load(fromByteOffset: i + 2, as: UInt8.self))
                let word = UInt32(pairs[v >> 12]) | UInt32(pairs[v & 0xFFF]) << 16
                o.storeBytes(of: word.littleEndian, toByteOffset: w, as: UInt32.self)
                i += 3
                w += 4
            }
            let remaining = count - i
            if remaining > 0 {
                var v = Int(source.load(fromByteOffset: i, as: UInt8.self)) << 16
                if remaining == 2 { v |= Int(source.load(fromByteOffset: i + 1, as: UInt8.self)) << 8 }
                let first = pairs[v >> 12]
                o.storeBytes(of: UInt8(truncatingIfNeeded: first), toByteOffset: w, as: UInt8.self)
                o.storeBytes(of: UInt8(truncatingIfNeeded: first >> 8), toByteOffset: w + 1, as: UInt8.self)
                w += 2
                if remaining == 2 {
                    o.storeBytes(of: UInt8(truncatingIfNeeded: pairs[v & 0xFFF]), toByteOffset: w, as: UInt8.self)
                    w += 1
                }
            }
            return w
        }
    }

    /// ``encode(_:into:)`` for collections without contiguous storage.
    @usableFromInline
    static func encodeByIterating<Bytes: Collection>(_ bytes: Bytes, into out: UnsafeMutableBufferPointer<UInt8>) -> Int
    where Bytes.Element == UInt8 {
        let count = bytes.count
        return alphabet.withUnsafeBufferPointer { table in
            var o = 0
            var iterator = bytes.makeIterator()
            var remaining = count
            while remaining >= 3 {
                let b0 = UInt32(iterator.next()!), b1 = UInt32(iterator.next()!), b2 = UInt32(iterator.next()!)
                let v = b0 << 16 | b1 << 8 | b2
                out[o] = table[Int(v >> 18 & 63)]
                out[o + 1] = table[Int(v >> 12 & 63)]
                out[o + 2] = table[Int(v >> 6 & 63)]
                out[o + 3] = table[Int(v & 63)]
                o += 4
                remaining -= 3
            }
            if remaining == 2 {
                let v = UInt32(iterator.next()!) << 16 | UInt32(iterator.next()!) << 8
                out[o] = table[Int(v >> 18 & 63)]
                out[o + 1] = table[Int(v >> 12 & 63)]
                out[o + 2] = table[Int(v >> 6 & 63)]
                o += 3
            } else if remaining == 1 {
                let v = UInt32(iterator.next()!) << 16
                out[o] = table[Int(v >> 18 & 63)]
                out[o + 1] = table[Int(v >> 12 & 63)]
                o += 2
            }
            return o
        }
    }

    /// The outcome of a successful decode.
    public struct DecodeResult: Sendable, Hashable {
        /// The decoded bytes.
        public var bytes: [UInt8]
        /// True when the input is exactly the unpadded encoding of ``bytes``
        /// (no padding characters, no non-zero trailing bits).
        public var isCanonical: Bool

        /// Creates a result; ``Base64URL/decode(_:)`` is the usual source of these.
        @inlinable
        public init(bytes: [UInt8], isCanonical: Bool) {
            self.bytes = bytes
            self.isCanonical = isCanonical
        }
    }

    /// Decodes base64url text, with or without `=` padding.
    ///
    /// - Returns: the bytes and whether the input was canonical, or `nil` when the input
    ///   contains a character outside the alphabet, misplaced or excess padding, or has an
    ///   impossible length.
    @inlinable
    public static func decode<Text: StringProtocol>(_ text: Text) -> DecodeResult? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ decode(bytes: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var copy = String(text)
        return copy.withUTF8 { decode(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Decodes base64url from raw ASCII bytes; see ``decode(_:)``.
    @inlinable
    public static func decode(bytes input: UnsafeRawBufferPointer) -> DecodeResult? {
        guard let outCount = decodedCount(of: input) else { return nil }
        var canonical = false
        var failed = false
        let result = [UInt8](unsafeUninitializedCapacity: outCount) { out, count in
            if let decoded = decode(bytes: input, into: UnsafeMutableRawBufferPointer(out)) {
                canonical = decoded.isCanonical
                count = decoded.count
            } else {
                failed = true
                count = 0
            }
        }
        return failed ? nil : DecodeResult(bytes: result, isCanonical: canonical)
    }

    /// The number of bytes `input` decodes to, or `nil` when its length or padding is
    /// impossible (the characters themselves are not checked).
    public static func decodedCount(of input: UnsafeRawBufferPointer) -> Int? {
        var end = input.count
        var padding = 0
        while end > 0 && input[end - 1] == UInt8(ascii: "=") {
            end -= 1
            padding += 1
        }
        if padding > 2 { return nil }
        let remainder = end % 4
        if remainder == 1 { return nil }
        if padding > 0 && (end + padding) % 4 != 0 { return nil }
        return (end / 4) * 3 + (remainder == 0 ? 0 : remainder - 1)
    }

    /// Each character's six bits placed where they go in a three-byte group, one table of
    /// 256 entries per position: OR-ing the four entries gives the group's bytes in the low
    /// three bytes in memory order (little-endian). Characters outside the alphabet have the
    /// high byte set.
    @usableFromInline
    static let placed: [UInt32] = {
        var table = [UInt32](repeating: 0xFF00_0000, count: 4 * 256)
        for (index, char) in alphabet.enumerated() {
            let v = UInt32(index)
            table[Int(char)] = v << 2
            table[256 + Int(char)] = v >> 4 | (v & 0xF) << 12
            table[512 + Int(char)] = (v >> 2) << 8 | (v & 0x3) << 22
            table[768 + Int(char)] = v << 16
        }
        return table
    }()

    /// Decodes base64url (with or without `=` padding) from `input` into `out`, which must
    /// hold at least ``decodedCount(of:)`` bytes.
    ///
    /// - Returns: the number of bytes written and whether the input was canonical, or `nil`
    ///   under the same conditions as ``decode(_:)``; `out` may then hold partial output.
    public static func decode(bytes input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> (count: Int, isCanonical: Bool)? {
        guard let outCount = decodedCount(of: input) else { return nil }
        precondition(out.count >= outCount, "the output buffer is smaller than the decoded bytes")
        var end = input.count
        while end > 0 && input[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let remainder = end % 4
        var canonical = end == input.count
        guard outCount > 0, let source = input.baseAddress, let target = out.baseAddress else { return (0, canonical) }
        let groups = end / 4
        return placed.withUnsafeBufferPointer { placed -> (count: Int, isCanonical: Bool)? in
            let t = placed.baseAddress!
            var i = 0
            var o = 0
            var bad: UInt32 = 0
            @inline(__always) func group(_ i: Int) -> UInt32 {
                t[Int(source.load(fromByteOffset: i, as: UInt8.self))]
                    | t[256 + Int(source.load(fromByteOffset: i + 1, as: UInt8.self))]
                    | t[512 + Int(source.load(fromByteOffset: i + 2, as: UInt8.self))]
                    | t[768 + Int(source.load(fromByteOffset: i + 3, as: UInt8.self))]
            }
            // Every group but the last is stored as four bytes (the fourth is overwritten
            // by the next group).
            if groups > 1 {
                for _ in 0..<(groups - 1) {
                    let v = group(i)
                    bad |= v
                    target.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt32.self)
                    i += 4
                    o += 3
                }
            }
            if groups > 0 {
                let v = group(i)
                bad |= v
                target.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: o, as: UInt8.self)
                target.storeBytes(of: UInt8(truncatingIfNeeded: v >> 8), toByteOffset: o + 1, as: UInt8.self)
                target.storeBytes(of: UInt8(truncatingIfNeeded: v >> 16), toByteOffset: o + 2, as: UInt8.self)
                i += 4
                o += 3
            }
            let table = reverse
            if remainder >= 2 {
                let a = table[Int(source.load(fromByteOffset: i, as: UInt8.self))]
                let b = table[Int(source.load(fromByteOffset: i + 1, as: UInt8.self))]
                let c: UInt8 = remainder == 3 ? table[Int(source.load(fromByteOffset: i + 2, as: UInt8.self))] : 0
                bad |= UInt32(a | b | c) << 24
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                target.storeBytes(of: UInt8(truncatingIfNeeded: v >> 16), toByteOffset: o, as: UInt8.self)
                if remainder == 3 {
                    target.storeBytes(of: UInt8(truncatingIfNeeded: v >> 8), toByteOffset: o + 1, as: UInt8.self)
                    if v & 0xFF != 0 { canonical = false }
                } else if v & 0xFFFF != 0 {
                    canonical = false
                }
                o += remainder - 1
            }
            return bad & 0xC000_0000 != 0 ? nil : (o, canonical)
        }
    }
}
