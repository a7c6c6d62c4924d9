import SessionKit
@_spi(Engine) import SessionKitNetworking

/// A memcached command, encoded by ``MemcachedEncoder``.
///
/// Keys and meta flags are validated (``MemcachedKey``, ``MemcachedEncoder``) when the command is encoded, before any byte is
/// produced. `exptime` values are sent as given; build them with ``MemcachedExpiration``.
public enum MemcachedCommand: Sendable, Hashable {
    /// `get <key>*`.
    case get(keys: [String])
    /// `gets <key>*`: items with their CAS tokens.
    case gets(keys: [String])
    /// `gat <exptime> <key>*`: get and touch.
    case gat(exptime: Int64, keys: [String])
    /// `gats <exptime> <key>*`: get and touch, with CAS tokens.
    case gats(exptime: Int64, keys: [String])
    /// `set <key> <flags> <exptime> <bytes>` and the data.
    case set(key: String, flags: UInt32, exptime: Int64, value: [UInt8])
    /// `add`: store only if the key is absent.
    case add(key: String, flags: UInt32, exptime: Int64, value: [UInt8])
    /// `replace`: store only if the key exists.
    case replace(key: String, flags: UInt32, exptime: Int64, value: [UInt8])
    /// `cas <key> <flags> <exptime> <bytes> <cas>`: store only if unchanged since `gets`.
    case cas(key: String, flags: UInt32, exptime: Int64, value: [UInt8], cas: UInt64)
    /// `delete <key>`.
    case delete(key: String)
    /// `touch <key> <exptime>`.
    case touch(key: String, exptime: Int64)
    /// `version`.
    case version
    /// `mg <key> <flags>*` (meta get); flags such as `v`, `f`, `c`, `t`, `T<ttl>`.
    case metaGet(key: String, flags: [String])
    /// `ms <key> <bytes> <flags>*` and the data (meta set).
    case metaSet(key: String, value: [UInt8], flags: [String])
    /// `md <key> <flags>*` (meta delete).
    case metaDelete(key: String, flags: [String])
    /// `mn`: meta no-op, answered with `MN`.
    case metaNoop

    /// The command's name, for messages.
    public var name: String {
        switch self {
        case .get: return "get"
        case .gets: return "gets"
        case .gat: return "gat"
        case .gats: return "gats"
        case .set: return "set"
        case .add: return "add"
        case .replace: return "replace"
        case .cas: return "cas"
        case .delete: return "delete"
        case .touch: return "touch"
        case .version: return "version"
        case .metaGet: return "mg"
        case .metaSet: return "ms"
        case .metaDelete: return "md"
        case .metaNoop: return "mn"
        }
    }

    /// The keys the command names.
    public var keys: [String] {
        switch self {
        case .get(let keys), .gets(let keys), .gat(_, let keys), .gats(_, let keys): return keys
        case .set(let key, _, _, _), .add(let key, _, _, _), .replace(let key, _, _, _), .cas(let key, _, _, _, _),
             .delete(let key), .touch(let key, _), .metaGet(let key, _), .metaSet(let key, _, _), .metaDelete(let key, _):
            return [key]
        case .version, .metaNoop: return []
        }
    }
}

/// Writes ``MemcachedCommand``s in memcached's text (and meta) protocol.
///
/// ```swift
/// var bytes: [UInt8] = []
/// try MemcachedEncoder.encode(.set(key: "k", flags: 0, exptime: 60, value: Array("v".utf8)), into: &bytes)
/// // "set k 0 60 1\r\nv\r\n"
/// ```
public enum MemcachedEncoder {
    /// Appends the command's bytes to `buffer`.
    ///
    /// - Throws: `SessionError` `.invalidKey` for a key that breaks memcached's rules, a meta
    ///   flag that is not a letter followed by printable ASCII (no CR, LF, space, NUL or other
    ///   control byte, not empty), or a retrieval without keys. Nothing is appended when it throws.
    public static func encode(_ command: MemcachedCommand, into buffer: inout [UInt8]) throws(SessionError) {
        let keys = try validate(command)
        encodeValidated(command, keys: keys, into: &buffer)
    }

    /// Checks everything in `command` that goes on the command line — its keys and meta flags —
    /// and returns the keys' bytes. Every path that writes a command calls this first.
    static func validate(_ command: MemcachedCommand) throws(SessionError) -> [[UInt8]] {
        let keys = try command.keys.map { key throws(SessionError) in try MemcachedKey.validate(key) }
        try validateMetaFlags(command)
        if keys.isEmpty {
            switch command {
            case .get, .gets, .gat, .gats:
                throw SessionError(.invalidKey, "a \(command.name) needs at least one key")
            default: break
            }
        }
        return keys
    }

    /// Checks the meta flags of `mg`, `ms` and `md` (other commands have none).
    static func validateMetaFlags(_ command: MemcachedCommand) throws(SessionError) {
        switch command {
        case .metaGet(_, let flags), .metaSet(_, _, let flags), .metaDelete(_, let flags):
            for flag in flags { try validateMetaFlag(flag) }
        default: break
        }
    }

    /// Appends a command that ``validate(_:)`` accepted (`keys` are the bytes it returned).
    ///
    /// - Parameter opaque: a flag (`O<token>`) appended after the flags of `mg`, `ms` and `md`,
    ///   for the client to match the reply; ignored for other commands.
    static func encodeValidated(_ command: MemcachedCommand, keys: [[UInt8]], opaque: String? = nil, into buffer: inout [UInt8]) {
        switch command {
        case .get: retrieval("get", nil, keys, &buffer)
        case .gets: retrieval("gets", nil, keys, &buffer)
        case .gat(let exptime, _): retrieval("gat", exptime, keys, &buffer)
        case .gats(let exptime, _): retrieval("gats", exptime, keys, &buffer)
        case .set(_, let flags, let exptime, let value): storage("set", keys[0], flags, exptime, value, nil, &buffer)
        case .add(_, let flags, let exptime, let value): storage("add", keys[0], flags, exptime, value, nil, &buffer)
        case .replace(_, let flags, let exptime, let value): storage("replace", keys[0], flags, exptime, value, nil, &buffer)
        case .cas(_, let flags, let exptime, let value, let cas): storage("cas", keys[0], flags, exptime, value, cas, &buffer)
        case .delete:
            append("delete ", &buffer)
            buffer.append(contentsOf: keys[0])
            crlf(&buffer)
        case .touch(_, let exptime):
            append("touch ", &buffer)
            buffer.append(contentsOf: keys[0])
            buffer.append(0x20)
            number(exptime, &buffer)
            crlf(&buffer)
        case .version:
            append("version\r\n", &buffer)
        case .metaGet(_, let flags):
            append("mg ", &buffer)
            buffer.append(contentsOf: keys[0])
            metaFlags(flags, opaque, &buffer)
            crlf(&buffer)
        case .metaSet(_, let value, let flags):
            append("ms ", &buffer)
            buffer.append(contentsOf: keys[0])
            buffer.append(0x20)
            number(Int64(value.count), &buffer)
            metaFlags(flags, opaque, &buffer)
            crlf(&buffer)
            buffer.append(contentsOf: value)
            crlf(&buffer)
        case .metaDelete(_, let flags):
            append("md ", &buffer)
            buffer.append(contentsOf: keys[0])
            metaFlags(flags, opaque, &buffer)
            crlf(&buffer)
        case .metaNoop:
            append("mn\r\n", &buffer)
        }
    }

    /// Appends `flush_all` (answered with `OK`): every item on the server is invalidated. Not a
    /// ``MemcachedCommand``, so ``MemcachedClient/send(_:)`` cannot send it to whichever server
    /// an empty key routes to: the client sends it to an ejected server before putting it back
    /// on the ring.
    static func encodeFlushAll(into buffer: inout [UInt8]) {
        append("flush_all\r\n", &buffer)
    }

    private static func validateMetaFlag(_ flag: String) throws(SessionError) {
        let bytes = Array(flag.utf8)
        guard let first = bytes.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A),
              bytes.count <= 64, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            let fault = bytes.isEmpty ? "is empty"
                : bytes.count > 64 ? "is \(bytes.count) bytes long"
                : bytes.firstIndex(where: { $0 <= 0x20 || $0 >= 0x7F }).map { "has \(MemcachedKey.describe(bytes[$0])) at byte \($0)" }
                ?? "starts with \(MemcachedKey.describe(bytes[0]))"
            throw SessionError(.invalidKey, "a meta flag of \(bytes.count) bytes \(fault); a flag is a letter followed by at most 63 printable ASCII characters (no space, CR, LF, NUL or other control byte), so the command was not sent: it would break memcached's command line")
        }
    }

    private static func retrieval(_ name: StaticString, _ exptime: Int64?, _ keys: [[UInt8]], _ buffer: inout [UInt8]) {
        append(name, &buffer)
        if let exptime {
            buffer.append(0x20)
            number(exptime, &buffer)
        }
        for key in keys {
            buffer.append(0x20)
            buffer.append(contentsOf: key)
        }
        crlf(&buffer)
    }

    private static func storage(_ name: StaticString, _ key: [UInt8], _ flags: UInt32, _ exptime: Int64, _ value: [UInt8], _ cas: UInt64?, _ buffer: inout [UInt8]) {
        buffer.reserveCapacity(buffer.count + key.count + value.count + 64)
        append(name, &buffer)
        buffer.append(0x20)
        buffer.append(contentsOf: key)
        buffer.append(0x20)
        number(Int64(flags), &buffer)
        buffer.append(0x20)
        number(exptime, &buffer)
        buffer.append(0x20)
        number(Int64(value.count), &buffer)
        if let cas {
            buffer.append(0x20)
            unsigned(cas, &buffer)
        }
        crlf(&buffer)
        buffer.append(contentsOf: value)
        crlf(&buffer)
    }

    private static func metaFlags(_ flags: [String], _ opaque: String?, _ buffer: inout [UInt8]) {
        for flag in flags {
            buffer.append(0x20)
            buffer.append(contentsOf: flag.utf8)
        }
        if let opaque {
            buffer.append(0x20)
            buffer.append(contentsOf: opaque.utf8)
        }
    }

    @inline(__always)
    private static func append(_ text: StaticString, _ buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    @inline(__always)
    private static func crlf(_ buffer: inout [UInt8]) {
        buffer.append(0x0D)
        buffer.append(0x0A)
    }

    private static func number(_ value: Int64, _ buffer: inout [UInt8]) {
        if value < 0 {
            buffer.append(0x2D)
            unsigned(value.magnitude, &buffer)
        } else {
            unsigned(UInt64(value), &buffer)
        }
    }

    private static func unsigned(_ value: UInt64, _ buffer: inout [UInt8]) {
        buffer.appendDecimal(value)
    }
}
