/// A JSON-like value stored in a session.
///
/// Sessions hold `String` keys mapped to these values, which is exactly what a JSON object
/// can hold; that is how sessions are stored (sanic_session's layout) and how pyramid's
/// signed cookies carry them.
///
/// ```swift
/// session["visits"] = 3
/// session["user"] = ["name": "ada", "roles": ["admin"]]
/// ```
public enum SessionValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// JSON `true` or `false`.
    case bool(Bool)
    /// A JSON number without fraction or exponent that fits in 64 bits.
    case int(Int)
    /// Any other JSON number. Must be finite to be stored.
    case double(Double)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([SessionValue])
    /// A JSON object.
    case object([String: SessionValue])
}

extension SessionValue {
    /// The value as a `Bool`, or `nil` when it is not a boolean.
    public var boolValue: Bool? { if case .bool(let v) = self { v } else { nil } }
    /// The value as an `Int`, or `nil` when it is not an integer.
    public var intValue: Int? { if case .int(let v) = self { v } else { nil } }
    /// The value as a `Double`: doubles, and integers converted; otherwise `nil`.
    public var doubleValue: Double? {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        default: nil
        }
    }
    /// The value as a `String`, or `nil` when it is not a string.
    public var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    /// The value as an array, or `nil` when it is not an array.
    public var arrayValue: [SessionValue]? { if case .array(let v) = self { v } else { nil } }
    /// The value as an object, or `nil` when it is not an object.
    public var objectValue: [String: SessionValue]? { if case .object(let v) = self { v } else { nil } }
    /// True for ``null``.
    public var isNull: Bool { self == .null }
}

extension SessionValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: SessionValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, SessionValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension SessionValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([SessionValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: SessionValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a JSON value (null, bool, number, string, array or object)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .int(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }
}

extension SessionValue: CustomStringConvertible {
    /// The value as compact JSON text.
    public var description: String {
        (try? String(decoding: JSON.encode(self), as: UTF8.self)) ?? "<not representable as JSON>"
    }
}
