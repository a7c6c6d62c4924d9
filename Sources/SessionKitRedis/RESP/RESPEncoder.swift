@_spi(Engine) import SessionKitNetworking

/// One argument of a Redis command: binary-safe bytes.
///
/// Strings, byte arrays and integers convert to arguments, so commands read naturally:
/// `client.send("SET", key, value, "EX", 60)`.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The argument's bytes as they go on the wire.
    public var bytes: [UInt8]

    /// Creates an argument from raw bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// Creates an argument from a string's UTF-8 bytes.
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    /// Creates an argument from an integer's decimal text.
    public init<Integer: BinaryInteger>(_ value: Integer) { self.bytes = Array(String(value).utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

/// Encodes commands as RESP arrays of bulk strings, the only form that is binary-safe.
public enum RESPEncoder {
    /// Appends `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` for each argument to `buffer`.
    ///
    /// ```swift
    /// var out: [UInt8] = []
    /// RESPEncoder.encode(["GET", "key"], into: &out)   // "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
    /// ```
    public static func encode(_ arguments: [RedisArgument], into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        appendDecimal(arguments.count, to: &buffer)
        buffer.append(13); buffer.append(10)
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            appendDecimal(argument.bytes.count, to: &buffer)
            buffer.append(13); buffer.append(10)
            buffer.append(contentsOf: argument.bytes)
            buffer.append(13); buffer.append(10)
        }
    }

    /// Returns the encoding of one command.
    public static func encode(_ arguments: [RedisArgument]) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(arguments, into: &buffer)
        return buffer
    }

    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        precondition(value >= 0)
        buffer.appendDecimal(UInt64(value))
    }
}
