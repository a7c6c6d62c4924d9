/// Turns session payloads into bytes and back, as pyramid's serializers do (`dumps`/`loads`).
///
/// Implementations must throw on malformed input (never return a partial value): cookie
/// sessions treat any error as "no session" and start a fresh one.
public protocol SessionSerializer: Sendable {
    /// Returns the bytes of `value`.
    func serialize(_ value: SessionValue) throws -> [UInt8]
    /// Returns the value encoded in `bytes`, or throws a ``SessionError`` when they are malformed.
    func deserialize(_ bytes: [UInt8]) throws -> SessionValue
}

/// JSON as Python's `json.dumps` writes it by default, which is what pyramid's
/// `JSONSerializer` produces: `", "` and `": "` separators, non-ASCII characters escaped as
/// `\uXXXX`, floats in their shortest round-trip form. Object keys are written in sorted
/// order, so the output for a given value is always the same.
///
/// Reading accepts any strict JSON (RFC 8259), with a nesting limit of 64.
public struct JSONSessionSerializer: SessionSerializer {
    /// Creates the serializer.
    public init() {}

    public func serialize(_ value: SessionValue) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try Self.write(value, into: &out)
        return out
    }

    public func deserialize(_ bytes: [UInt8]) throws -> SessionValue {
        try JSON.decode(bytes)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func write(_ value: SessionValue, into out: inout [UInt8]) throws {
        switch value {
        case .null, .bool, .int:
            try JSON.write(value, into: &out)
        case .double(let d):
            guard d.isFinite else {
                throw SessionError(.encodingFailed, "a session value is \(d), which JSON cannot represent; store a finite number or a string")
            }
            out.append(contentsOf: d.description.utf8)
        case .string(let s):
            writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 {
                    out.append(UInt8(ascii: ","))
                    out.append(UInt8(ascii: " "))
                }
                try write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Code-point order, which is UTF-8 byte order (Python's sort_keys order).
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (i, member) in sorted.enumerated() {
                if i > 0 {
                    out.append(UInt8(ascii: ","))
                    out.append(UInt8(ascii: " "))
                }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(UInt8(ascii: " "))
                try write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A string as Python's `json.dumps(ensure_ascii=True)` writes it: printable ASCII as
    /// is, everything else escaped (`\uXXXX`, UTF-16 surrogate pairs above U+FFFF).
    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            var runStart = 0
            var i = 0
            func flush(_ end: Int) {
                if runStart < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<end])) }
            }
            func escape(_ unit: UInt16) {
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), hex[Int(unit >> 12)], hex[Int(unit >> 8 & 0xF)], hex[Int(unit >> 4 & 0xF)], hex[Int(unit & 0xF)]])
            }
            while i < bytes.count {
                let c = bytes[i]
                if c >= 0x20 && c < 0x7F && c != 0x22 && c != 0x5C {
                    i += 1
                    continue
                }
                flush(i)
                if c < 0x80 {
                    switch c {
                    case 0x22: out.append(contentsOf: [0x5C, 0x22])
                    case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                    case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                    case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                    case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                    case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                    case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                    default: escape(UInt16(c))
                    }
                    i += 1
                } else {
                    // A String holds valid UTF-8: decode one scalar.
                    let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
                    var scalar = UInt32(c) & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F)
                    for k in 1..<length { scalar = scalar << 6 | UInt32(bytes[i + k] & 0x3F) }
                    if scalar > 0xFFFF {
                        let v = scalar - 0x10000
                        escape(UInt16(0xD800 + (v >> 10)))
                        escape(UInt16(0xDC00 + (v & 0x3FF)))
                    } else {
                        escape(UInt16(scalar))
                    }
                    i += length
                }
                runStart = i
            }
            flush(bytes.count)
        }
        out.append(UInt8(ascii: "\""))
    }
}
