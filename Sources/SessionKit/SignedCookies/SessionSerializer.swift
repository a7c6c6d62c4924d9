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
        try JSONBuffer.withScratch(1024) { (out) throws(SessionError) in
            try PythonJSONWriter.write(value, into: &out)
            return out.array
        }
    }

    public func deserialize(_ bytes: [UInt8]) throws -> SessionValue {
        try JSON.decode(bytes)
    }
}
