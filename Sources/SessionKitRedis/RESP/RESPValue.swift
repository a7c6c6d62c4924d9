/// A reply from a Redis server, in RESP2 or RESP3.
///
/// RESP2 servers only send simple strings, errors, integers, bulk strings and arrays (with
/// `$-1` / `*-1` as ``null``); RESP3 adds the other cases. Attributes (`|`) are skipped by the
/// parser, which returns the value they annotate.
public enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    /// `+OK` — a short status text.
    case simpleString(String)
    /// `-ERR ...` or a RESP3 blob error `!`; the text starts with the error prefix (`ERR`, `WRONGTYPE`...).
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nfoo` — binary-safe bytes.
    case bulkString([UInt8])
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    case null
    /// `*` — an ordered list of values.
    case array([RESPValue])
    /// `,3.14` (RESP3), including `inf`, `-inf` and `nan`.
    case double(Double)
    /// `#t` / `#f` (RESP3).
    case boolean(Bool)
    /// `(3492890328409238509324850943850943825024385` (RESP3), kept as its decimal text.
    case bigNumber(String)
    /// `=15\r\ntxt:Some string` (RESP3): a three-letter format and the text.
    case verbatimString(format: String, text: [UInt8])
    /// `%` (RESP3): key/value pairs in the server's order.
    case map([(key: RESPValue, value: RESPValue)])
    /// `~` (RESP3): an unordered collection.
    case set([RESPValue])
    /// `>` (RESP3): an out-of-band push frame (pub/sub message, invalidation).
    case push([RESPValue])

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)): return a == b
        case (.error(let a), .error(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.bigNumber(let a), .bigNumber(let b)): return a == b
        case (.verbatimString(let f1, let t1), .verbatimString(let f2, let t2)): return f1 == f2 && t1 == t2
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.set(let a), .set(let b)): return a == b
        case (.push(let a), .push(let b)): return a == b
        default: return false
        }
    }

    /// The bytes of a bulk, simple or verbatim string; `nil` for other values.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        case .verbatimString(_, let text): return text
        default: return nil
        }
    }

    /// The text of a bulk, simple or verbatim string (decoded as UTF-8); `nil` for other values.
    public var string: String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The value of an integer reply (or of a RESP3 boolean as 0/1); `nil` for other values.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .boolean(let value): return value ? 1 : 0
        default: return nil
        }
    }

    /// Whether this is a null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .simpleString(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulkString(let bytes): return "$\(bytes.count) \"\(String(decoding: bytes.prefix(64), as: UTF8.self))\(bytes.count > 64 ? "..." : "")\""
        case .null: return "(null)"
        case .array(let values): return "[\(values.map(\.description).joined(separator: ", "))]"
        case .double(let value): return ",\(value)"
        case .boolean(let value): return value ? "#t" : "#f"
        case .bigNumber(let text): return "(\(text)"
        case .verbatimString(let format, let text): return "=\(format):\(String(decoding: text.prefix(64), as: UTF8.self))"
        case .map(let pairs): return "{\(pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        case .set(let values): return "~[\(values.map(\.description).joined(separator: ", "))]"
        case .push(let values): return ">[\(values.map(\.description).joined(separator: ", "))]"
        }
    }
}
