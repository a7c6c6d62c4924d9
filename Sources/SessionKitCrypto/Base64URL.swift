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
        let outCount = (end / 4) * 3 + (remainder == 0 ? 0 : remainder - 1)
        var canonical = padding == 0
        var result = [UInt8](repeating: 0, count: outCount)
        let ok: Bool = reverse.withUnsafeBufferPointer { table in
            result.withUnsafeMutableBufferPointer { out in
                var i = 0
                var o = 0
                while i + 4 <= end {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { return false }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    o += 3
                }
                if remainder >= 2 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    let c: UInt8 = remainder == 3 ? table[Int(input[i + 2])] : 0
                    if (a | b | c) & 0xC0 != 0 { return false }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    if remainder == 3 {
                        out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                        if v & 0xFF != 0 { canonical = false }
                    } else if v & 0xFFFF != 0 {
                        canonical = false
                    }
                }
                return true
            }
        }
        return ok ? DecodeResult(bytes: result, isCanonical: canonical) : nil
    }
}
