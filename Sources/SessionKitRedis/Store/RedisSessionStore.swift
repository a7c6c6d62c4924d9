import SessionKit
import SessionKitNetworking
import Synchronization

/// A `SessionStore` on Redis, in sanic_session's layout: each session is one string key,
/// `prefix + sessionID`, holding the session's JSON bytes, with the session's lifetime as the
/// key's TTL.
///
/// - ``save(key:value:ttl:)``: `SET key value EX ttl`, or plain `SET` for permanent sessions
///   (`ttl == nil`), so a permanent session never expires in Redis.
/// - ``replace(key:value:ttl:)`` (saves of loaded sessions): `SET key value XX [EX ttl]`.
/// - ``load(key:)``: `GET`; ``delete(key:)``: `DEL`.
/// - ``touch(key:ttl:)``: `EXPIRE` (or `PERSIST` for `nil`).
/// - ``loadAndTouch(key:ttl:)``: `GETEX key EX ttl` on Redis 6.2+, `GET` then `EXPIRE` before.
///
/// ```swift
/// let store = try RedisSessionStore(url: "redis://localhost:6379/0")
/// let clustered = try RedisSessionStore(url: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379")
/// let failover = try RedisSessionStore(url: "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster")
/// ```
///
/// Every command touches one key, so the store works unchanged over a Redis Cluster (each
/// session lands on the primary owning its key's slot) and over Sentinel.
public final class RedisSessionStore: SessionStore {
    /// The client the store sends its commands through.
    public let client: RedisClient
    /// The largest value ``save(key:value:ttl:)`` accepts, in bytes.
    public let maxValueSize: Int
    private let getexSupported = Atomic<Bool>(true)

    /// Creates a store on an existing client (which may be shared with other code).
    ///
    /// - Parameters:
    ///   - client: the client that runs the store's commands.
    ///   - maxValueSize: values above this size are refused with `valueTooLarge`
    ///     before anything is sent. Default 4 MiB; Redis' own limit is 512 MiB. The client
    ///     reads values up to its `parserLimits.maxBulkLength` (4 MiB + 64 KiB by default):
    ///     raise that too when raising this.
    public init(client: RedisClient, maxValueSize: Int = 4 * 1024 * 1024) {
        self.client = client
        self.maxValueSize = maxValueSize
    }

    /// Creates a store and its client from a Redis URL (see ``RedisConfiguration/init(url:tls:)``).
    ///
    /// - Parameters:
    ///   - url: the URL; `rediss://` needs `tls`.
    ///   - tls: the TLS settings for a `rediss://` URL (SessionKitTLS's `TLSConfiguration`).
    ///   - maxValueSize: the largest value the store writes, as in ``init(client:maxValueSize:)``.
    public convenience init(url: String, tls: (any TransportSecurity)? = nil, maxValueSize: Int = 4 * 1024 * 1024) throws {
        try self.init(configuration: RedisConfiguration(url: url, tls: tls), maxValueSize: maxValueSize)
    }

    /// Creates a store and its client from a configuration. The client's
    /// `parserLimits.maxBulkLength` is raised to `maxValueSize` plus 64 KiB if it is lower, so
    /// that every value the store writes can be read back.
    public convenience init(configuration: RedisConfiguration, maxValueSize: Int = 4 * 1024 * 1024) throws {
        var configuration = configuration
        let needed = maxValueSize > Int.max - 64 * 1024 ? Int.max : maxValueSize + 64 * 1024
        if configuration.parserLimits.maxBulkLength < needed {
            configuration.parserLimits.maxBulkLength = needed
        }
        try self.init(client: RedisClient(configuration: configuration), maxValueSize: maxValueSize)
    }

    public func load(key: String) async throws -> [UInt8]? {
        try validate(key)
        return try value(of: try await run(["GET", RedisArgument(key)]), command: "GET")
    }

    public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        try validate(key)
        guard value.count <= maxValueSize else {
            throw SessionError(.valueTooLarge, "the session is \(value.count) bytes, over RedisSessionStore's maxValueSize of \(maxValueSize); store less in the session or raise maxValueSize")
        }
        if let ttl, ttl <= 0 {
            // Already expired: Redis refuses EX 0, and the entry must not outlive its TTL.
            _ = try await run(["DEL", RedisArgument(key)])
            return
        }
        var command: [RedisArgument] = ["SET", RedisArgument(key), RedisArgument(value)]
        if let ttl { command += ["EX", RedisArgument(ttl)] }
        let reply = try await run(command)
        guard case .simpleString = reply else {
            throw unexpected(reply, command: "SET")
        }
    }

    /// `SET key value XX [EX ttl]`: saves only over a live key, so a session deleted or
    /// expired meanwhile is never written back.
    public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try validate(key)
        guard value.count <= maxValueSize else {
            throw SessionError(.valueTooLarge, "the session is \(value.count) bytes, over RedisSessionStore's maxValueSize of \(maxValueSize); store less in the session or raise maxValueSize")
        }
        if let ttl, ttl <= 0 {
            // Already expired: what is left to do is ending the live entry, if any.
            return try await integer(["DEL", RedisArgument(key)], command: "DEL") > 0
        }
        var command: [RedisArgument] = ["SET", RedisArgument(key), RedisArgument(value), "XX"]
        if let ttl { command += ["EX", RedisArgument(ttl)] }
        switch try await run(command) {
        case .simpleString: return true
        case .null: return false
        case let reply: throw unexpected(reply, command: "SET")
        }
    }

    /// `SET key value NX [EX ttl]`: saves only when the key is absent.
    public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try validate(key)
        guard value.count <= maxValueSize else {
            throw SessionError(.valueTooLarge, "the value is \(value.count) bytes, over RedisSessionStore's maxValueSize of \(maxValueSize); store less or raise maxValueSize")
        }
        var command: [RedisArgument] = ["SET", RedisArgument(key), RedisArgument(value), "NX"]
        if let ttl { command += ["EX", RedisArgument(max(ttl, 1))] }
        switch try await run(command) {
        case .simpleString: return true
        case .null: return false
        case let reply: throw unexpected(reply, command: "SET")
        }
    }

    public func delete(key: String) async throws {
        try validate(key)
        _ = try await run(["DEL", RedisArgument(key)])
    }

    public func touch(key: String, ttl: Int?) async throws -> Bool {
        try validate(key)
        guard let ttl else {
            // PERSIST answers 0 both for a missing key and for a key without TTL.
            if try await integer(["PERSIST", RedisArgument(key)], command: "PERSIST") == 1 { return true }
            return try await integer(["EXISTS", RedisArgument(key)], command: "EXISTS") > 0
        }
        // A non-positive EXPIRE deletes the key, which is what an expired TTL means.
        return try await integer(["EXPIRE", RedisArgument(key), RedisArgument(ttl)], command: "EXPIRE") == 1
    }

    public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        try validate(key)
        if getexSupported.load(ordering: .relaxed) {
            let reply = try await client.execute(["GETEX", RedisArgument(key), "EX", RedisArgument(max(ttl, 1))], idempotent: true)
            if case .error(let message) = reply, message.lowercased().contains("unknown command") {
                getexSupported.store(false, ordering: .relaxed)
            } else {
                let bytes = try value(of: try check(reply, command: "GETEX"), command: "GETEX")
                if ttl <= 0, bytes != nil { _ = try await run(["DEL", RedisArgument(key)]) }
                return bytes
            }
        }
        guard let bytes = try await load(key: key) else { return nil }
        _ = try await touch(key: key, ttl: ttl)
        return bytes
    }

    // MARK: Helpers

    private func validate(_ key: String) throws {
        guard !key.isEmpty else {
            throw SessionError(.invalidKey, "the session key is empty; RedisSessionStore needs prefix + session ID")
        }
    }

    private func run(_ command: [RedisArgument]) async throws -> RESPValue {
        let reply = try await client.execute(command, idempotent: true)
        return try check(reply, command: String(decoding: command[0].bytes, as: UTF8.self))
    }

    private func check(_ reply: RESPValue, command: String) throws -> RESPValue {
        if case .error(let message) = reply {
            throw RedisErrorClass(message: message).error(message: message, address: client.serverDescription, command: command)
        }
        return reply
    }

    private func integer(_ command: [RedisArgument], command name: String) async throws -> Int64 {
        let reply = try await run(command)
        guard let value = reply.integer else { throw unexpected(reply, command: name) }
        return value
    }

    private func value(of reply: RESPValue, command: String) throws -> [UInt8]? {
        switch reply {
        case .null: return nil
        case .bulkString(let bytes): return bytes
        default: throw unexpected(reply, command: command)
        }
    }

    private func unexpected(_ reply: RESPValue, command: String) -> SessionError {
        SessionError(.protocolError, "Redis at \(client.serverDescription) answered \(command) with \(reply.redactedDescription), which makes no sense for that command; is the server really Redis?")
    }
}

/// Conditional saves, for the changed-keys save mode and for every save of a loaded session
/// (``savesWholeSessionsConditionally``): a server-side script replaces the value only if it
/// still equals the bytes that were read, in one atomic step (one key, so it also works on a
/// cluster).
extension RedisSessionStore: VersionedSessionStore {
    static let compareAndSetScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
          return 1
        end
        return 0
        """
    /// SHA-1 of ``compareAndSetScript``, as `SCRIPT LOAD` reports it (a test checks that).
    static let compareAndSetScriptSHA1 = "7bcbe071bb3212edcf02f3416885d7d1b02784c2"

    public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        guard let bytes = try await load(key: key) else { return nil }
        return (bytes, SessionStoreVersion(contents: bytes))
    }

    public func version(ofLoaded value: [UInt8]) -> SessionStoreVersion? {
        SessionStoreVersion(contents: value)
    }

    /// `true`: a `SET` abandoned after a timeout can still be executed by the server after a
    /// newer one (sent on a new connection once a stalled server resumes), so a loaded session
    /// is saved with the compare-and-set script against the bytes it was read as.
    public var savesWholeSessionsConditionally: Bool { true }

    public func save(key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion) async throws -> Bool {
        try validate(key)
        guard value.count <= maxValueSize else {
            throw SessionError(.valueTooLarge, "the session is \(value.count) bytes, over RedisSessionStore's maxValueSize of \(maxValueSize); store less in the session or raise maxValueSize")
        }
        guard let expected = version.contents else { return false }
        let arguments: [RedisArgument] = [
            "1", RedisArgument(key), RedisArgument(expected), RedisArgument(value),
            RedisArgument(ttl.map { String(max($0, 1)) } ?? ""),
        ]
        // EVALSHA spares the server hashing the script on every call; a server that does not
        // know the script yet (restarted, another cluster node) answers NOSCRIPT, and EVAL
        // both runs and caches it.
        let sha = Self.compareAndSetScriptSHA1
        let reply = try await client.execute(["EVALSHA", RedisArgument(sha)] + arguments, idempotent: true)
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            return try await integer(["EVAL", RedisArgument(Self.compareAndSetScript)] + arguments, command: "EVAL") == 1
        }
        guard let result = try check(reply, command: "EVALSHA").integer else { throw unexpected(reply, command: "EVALSHA") }
        return result == 1
    }
}
