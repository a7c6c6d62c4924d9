/// The compact JSON codec for session data.
///
/// Encoding produces compact JSON (no spaces), which every JSON reader accepts, including
/// Python's `json` and `ujson` used by sanic_session. Decoding is strict RFC 8259 JSON with a
/// nesting limit; it never allocates from a length found in the input.
///
/// Integers, strings and arrays are written by ``JSONText``, as for ``PythonJSONWriter``.
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
        for (key, value) in object { try writeMember(key, value, first: false, into: &out) }
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
            try JSONText.writeArray(items, separator: ",", into: &out, write)
        case .object(let members):
            out.reserve(1)
            out.put(UInt8(ascii: "{"))
            var first = true
            for (key, item) in members {
                try writeMember(key, item, first: first, into: &out)
                first = false
            }
            out.reserve(1)
            out.put(UInt8(ascii: "}"))
        }
    }

    /// Writes one member of an object: a comma unless it is the `first`, the key, a colon and
    /// the value.
    @inline(__always)
    private static func writeMember(_ key: String, _ value: SessionValue, first: Bool, into out: inout JSONBuffer) throws(SessionError) {
        out.reserve(1)
        if !first { out.put(UInt8(ascii: ",")) }
        writeString(key, into: &out)
        out.reserve(1)
        out.put(UInt8(ascii: ":"))
        try write(value, into: &out)
    }

    /// Writes an integer in decimal.
    @inline(__always)
    static func writeInt(_ value: Int, into out: inout JSONBuffer) {
        JSONText.writeInt(value, into: &out)
    }

    /// Writes `string` quoted, escaping `"`, `\\` and control characters (other characters,
    /// non-ASCII included, as they are: the output is UTF-8).
    @inline(__always)
    static func writeString(_ string: String, into out: inout JSONBuffer) {
        JSONText.writeString(string, asciiOnly: false, into: &out)
    }
}
