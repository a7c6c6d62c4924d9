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
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                try write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                writeString(key, into: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                try write(members[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A string as Python's `json.dumps(ensure_ascii=True)` writes it.
    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for unit in string.utf16 {
            switch unit {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x20..<0x7F, 0x7F: out.append(UInt8(unit))
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
                out.append(hex[Int(unit >> 12)])
                out.append(hex[Int(unit >> 8 & 0xF)])
                out.append(hex[Int(unit >> 4 & 0xF)])
                out.append(hex[Int(unit & 0xF)])
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
