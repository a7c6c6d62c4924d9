extension JSON {
    /// Decodes one JSON value that fills `bytes` (surrounding whitespace allowed).
    static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws -> SessionValue {
        if let result = try bytes.withContiguousStorageIfAvailable({ try decode(buffer: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return try Array(bytes).withUnsafeBytes { try decode(buffer: $0) }
    }

    static func decode(buffer: UnsafeRawBufferPointer) throws(SessionError) -> SessionValue {
        try withPendingScratch { (scratch) throws(SessionError) in try decode(buffer: buffer, scratch: scratch) }
    }

    private static func decode(
        buffer: UnsafeRawBufferPointer, scratch: UnsafeMutableBufferPointer<(String, SessionValue)>
    ) throws(SessionError) -> SessionValue {
        var parser = Parser(bytes: buffer, scratch: scratch)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    /// Decodes a stored session: a JSON object whose ``Session/createdKey`` member, when
    /// present, is returned apart instead of being placed in the dictionary (the last one wins
    /// if the key repeats, as for any key). Returns `nil` when the value is valid JSON but not
    /// an object.
    static func decodeStoredSession(_ bytes: [UInt8]) throws -> (data: [String: SessionValue], created: SessionValue?)? {
        try bytes.withUnsafeBytes { try decodeStoredSession(buffer: $0) }
    }

    static func decodeStoredSession(
        buffer: UnsafeRawBufferPointer
    ) throws(SessionError) -> (data: [String: SessionValue], created: SessionValue?)? {
        try withPendingScratch { (scratch) throws(SessionError) in try decodeStoredSession(buffer: buffer, scratch: scratch) }
    }

    /// Calls `body` with stack space for the parser's first pending values, so that small
    /// documents need no heap allocation for them.
    @inline(__always)
    private static func withPendingScratch<R>(
        _ body: (UnsafeMutableBufferPointer<(String, SessionValue)>) throws(SessionError) -> R
    ) throws(SessionError) -> R {
        try withUnsafeTemporaryAllocation(of: (String, SessionValue).self, capacity: 16) { (scratch) throws(SessionError) in
            try body(scratch)
        }
    }

    private static func decodeStoredSession(
        buffer: UnsafeRawBufferPointer, scratch: UnsafeMutableBufferPointer<(String, SessionValue)>
    ) throws(SessionError) -> (data: [String: SessionValue], created: SessionValue?)? {
        var parser = Parser(bytes: buffer, scratch: scratch)
        parser.skipWhitespace()
        guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: "{") else {
            // Valid JSON of another type is "not a session"; invalid JSON is an error.
            _ = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return nil
        }
        var created: SessionValue?
        let data = try parser.parseObject(depth: 1, extractingCreated: &created)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected data after the JSON value") }
        return (data, created)
    }
}
