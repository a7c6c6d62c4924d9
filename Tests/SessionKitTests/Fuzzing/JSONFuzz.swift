@testable import SessionKit

/// Fuzz target `json`: the session JSON decoder (`JSON.Parser`, used by
/// ``JSONSessionSerializer`` and every store).
///
/// Input: the whole input is the JSON text.
///
/// Checks: decoding either throws a ``SessionError`` with code `malformedData` or returns a
/// value; a value re-encodes with both encoders (compact `JSON.encode` and pyramid-style
/// ``JSONSessionSerializer``), and each encoding decodes to the same value and re-encodes to
/// the same bytes; a rejected input is also rejected when surrounded by whitespace or
/// wrapped in an array, and an accepted one is accepted there too.
enum JSONFuzz {
    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        let value: SessionValue
        do {
            value = try JSON.decode(data)
        } catch {
            guard let error = error as? SessionError else { throw FuzzViolation(description: "decode threw a non-SessionError: \(error)") }
            try fuzzCheck(error.code == .malformedData, "decode threw \(error.code), not malformedData: \(error)")
            // Whitespace around and an array around a rejected text do not make it valid
            // (unless it nests too deep only inside the array).
            let spaced = [0x20, 0x0A] + data + [0x09, 0x0D]
            try fuzzCheck((try? JSON.decode(spaced)) == nil, "rejected text accepted with whitespace around it")
            return
        }
        try roundTrip(value, data)
        let spaced = [0x20, 0x0A] + data + [0x09, 0x0D]
        let again: SessionValue
        do { again = try JSON.decode(spaced) } catch { throw FuzzViolation(description: "accepted text rejected with whitespace around it: \(error)") }
        try fuzzCheck(again == value, "whitespace around the text changed the value")
        if depth(of: value) < JSON.maximumDepth {
            let wrapped = Array("[".utf8) + data + Array(",null]".utf8)
            let items = try? JSON.decode(wrapped)
            try fuzzCheck(items == .array([value, .null]), "value wrapped in an array decodes as \(String(describing: items))")
        }
    }

    static func roundTrip(_ value: SessionValue, _ input: [UInt8]) throws(FuzzViolation) {
        let compact: [UInt8]
        do { compact = try JSON.encode(value) } catch { throw FuzzViolation(description: "decoded value does not encode: \(error)") }
        let pyramid: [UInt8]
        do { pyramid = try JSONSessionSerializer().serialize(value) } catch {
            throw FuzzViolation(description: "decoded value does not serialize: \(error)")
        }
        for (encoding, name) in [(compact, "JSON.encode"), (pyramid, "JSONSessionSerializer")] {
            let decoded: SessionValue
            do { decoded = try JSON.decode(encoding) } catch {
                throw FuzzViolation(description: "\(name) output \(fuzzDescribe(encoding)) does not decode: \(error) (input \(fuzzDescribe(input)))")
            }
            try fuzzCheck(decoded == value, "\(name) round trip changed \(value) into \(decoded) (input \(fuzzDescribe(input)))")
        }
        // The pyramid-style encoding is deterministic (sorted keys): a second pass gives the same bytes.
        let again = try? JSONSessionSerializer().serialize(try JSON.decode(pyramid))
        try fuzzCheck(again == pyramid, "JSONSessionSerializer output is not stable: \(fuzzDescribe(pyramid)) then \(fuzzDescribe(again ?? []))")
        try fuzzCheck(pyramid.allSatisfy { $0 < 0x80 }, "JSONSessionSerializer output is not ASCII: \(fuzzDescribe(pyramid))")
    }

    /// The nesting depth of arrays and objects (a scalar has depth 0).
    static func depth(of value: SessionValue) -> Int {
        switch value {
        case .array(let items): 1 + (items.map(depth(of:)).max() ?? 0)
        case .object(let members): 1 + (members.values.map(depth(of:)).max() ?? 0)
        default: 0
        }
    }
}
