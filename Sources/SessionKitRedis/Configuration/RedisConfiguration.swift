import Foundation
import SessionKit
@_spi(Engine) import SessionKitNetworking

/// How to reach and talk to one Redis server.
///
/// Build it in code, or from a URL:
///
/// ```swift
/// let configuration = try RedisConfiguration(url: "redis://app:s3cret@cache.internal:6379/2")
/// let socket = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=1")
/// ```
///
/// TLS comes from the SessionKitTLS product: set ``tls`` to its `TLSConfiguration`, or pass one
/// with a `rediss://` URL:
///
/// ```swift
/// import SessionKitTLS
/// let secure = try RedisConfiguration(url: "rediss://:s3cret@cache.example.com:6380/0", tls: TLSConfiguration())
/// ```
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Where the server listens.
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        /// A TCP server: a host name, an IPv4 address or an IPv6 address (without brackets).
        case tcp(host: String, port: Int)
        /// A Unix domain socket.
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }
    }

    /// The protocol to ask for during the handshake.
    public enum ProtocolVersion: Sendable, Hashable {
        /// `HELLO 3` (with AUTH and SETNAME), falling back to RESP2 when the server is older.
        case resp3
        /// RESP2 only: `AUTH`, `CLIENT SETNAME` and `SELECT` as separate commands.
        case resp2
    }

    /// How the servers are deployed: one node, a Redis Cluster, or a primary found through Sentinel.
    public enum Topology: Sendable, Hashable {
        /// One server at ``RedisConfiguration/address``.
        case standalone
        /// A Redis Cluster reached through these seed nodes (any few of its nodes; the client
        /// learns the rest from `CLUSTER SHARDS`). ``RedisConfiguration/address`` is ignored.
        case cluster(seeds: [Address])
        /// The primary that these Sentinels monitor under `masterName`, re-resolved on every
        /// reconnect. ``RedisConfiguration/address`` is ignored.
        case sentinel(masterName: String, sentinels: [Address])
    }

    /// Where the server listens. Default `127.0.0.1:6379`.
    public var address: Address
    /// How the servers are deployed. Default ``Topology/standalone``.
    public var topology: Topology
    /// Cluster only: how many `MOVED`/`ASK` redirections one command may follow before it fails.
    /// Default 5.
    public var maxRedirections: Int
    /// Sentinel only: the password of the Sentinels themselves (their `requirepass`), when they
    /// have one; ``password`` is the data nodes'.
    public var sentinelPassword: String?
    /// Sentinel only: how often the client asks the Sentinels whether the primary changed, so
    /// that connections leave a demoted primary that is still up (a manual `SENTINEL FAILOVER`,
    /// or a primary cut off by a partition) even before it refuses writes. Default 1 s; `.zero`
    /// checks only on reconnects.
    public var sentinelCheckInterval: Duration
    /// The ACL user name (Redis 6+); `nil` authenticates as the default user.
    public var username: String?
    /// The password (`requirepass` or the ACL user's); `nil` sends no AUTH.
    public var password: String?
    /// The logical database (`SELECT`); must be 0 on Redis Cluster.
    public var database: Int
    /// The name the connections register with `CLIENT SETNAME`; `nil` sets none.
    public var clientName: String?
    /// How many connections to multiplex commands over. Default 2; a few are plenty.
    public var connectionCount: Int
    /// How many I/O threads (event loops) the connections are spread over: connection `i` runs
    /// on loop `i % eventLoopCount`. Loops are shared by every client of the process. Default 1,
    /// chosen by measurement (see Docs/networking.md); more only helps with several connections
    /// on a machine with cores to spare. 1...64.
    public var eventLoopCount: Int
    /// The deadline for resolving, connecting and the handshake together. Default 2 s.
    public var connectTimeout: Duration
    /// The deadline for one command, from the call to the reply, including waiting for a
    /// connection and retries. Default 2 s.
    public var commandTimeout: Duration
    /// The first reconnect delay; it doubles after each failure, with jitter. Default 50 ms.
    public var reconnectDelay: Duration
    /// The cap on the reconnect delay. Default 2 s.
    public var maxReconnectDelay: Duration
    /// How many times a command is retried after a `LOADING`, `TRYAGAIN`, `CLUSTERDOWN`,
    /// `MASTERDOWN` or `READONLY` reply, within its deadline. Default 3.
    public var maxRetries: Int
    /// The most commands waiting for replies on one connection; beyond it calls fail at once
    /// with `storeUnavailable` instead of queueing without bound. Default 50,000.
    public var maxPendingCommandsPerConnection: Int
    /// The protocol to ask for. Default ``ProtocolVersion/resp3``.
    public var protocolVersion: ProtocolVersion
    /// Bounds on replies. Default `RESPParser.Limits()`: bulk strings up to 4 MiB + 64 KiB
    /// (the session store's default `maxValueSize` plus slack), 1,048,576 elements, depth 32,
    /// lines up to 64 KiB.
    public var parserLimits: RESPParser.Limits
    /// How the connections are secured: SessionKitTLS's `TLSConfiguration`, or `nil` (the
    /// default) for plaintext. With a Cluster or Sentinel topology it applies to every node the
    /// client reaches, the Sentinels and the nodes that `MOVED` and `ASK` name included; each
    /// node's certificate must name the host or address the client connects to (or
    /// `TLSConfiguration.serverName`).
    ///
    /// ```swift
    /// import SessionKitTLS
    /// configuration.tls = TLSConfiguration(trustRoots: .file("/etc/ssl/redis-ca.pem"))
    /// ```
    public var tls: (any TransportSecurity)? {
        get { tlsStorage?.base }
        set { tlsStorage = newValue.map(AnyTransportSecurity.init) }
    }
    private var tlsStorage: AnyTransportSecurity?

    /// Creates a configuration; every parameter has a default.
    public init(
        address: Address = .tcp(host: "127.0.0.1", port: 6379),
        topology: Topology = .standalone,
        maxRedirections: Int = 5,
        sentinelPassword: String? = nil,
        sentinelCheckInterval: Duration = .seconds(1),
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        clientName: String? = "SessionKit",
        connectionCount: Int = 2,
        eventLoopCount: Int = 1,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2),
        reconnectDelay: Duration = .milliseconds(50),
        maxReconnectDelay: Duration = .seconds(2),
        maxRetries: Int = 3,
        maxPendingCommandsPerConnection: Int = 50_000,
        protocolVersion: ProtocolVersion = .resp3,
        parserLimits: RESPParser.Limits = RESPParser.Limits(),
        tls: (any TransportSecurity)? = nil
    ) {
        self.address = address
        self.topology = topology
        self.maxRedirections = maxRedirections
        self.sentinelPassword = sentinelPassword
        self.sentinelCheckInterval = sentinelCheckInterval
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.connectionCount = connectionCount
        self.eventLoopCount = eventLoopCount
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.maxRetries = maxRetries
        self.maxPendingCommandsPerConnection = maxPendingCommandsPerConnection
        self.protocolVersion = protocolVersion
        self.parserLimits = parserLimits
        self.tlsStorage = tls.map(AnyTransportSecurity.init)
    }

    /// Creates a configuration from a URL; the other settings keep their defaults.
    ///
    /// Accepted forms:
    /// - `redis://[user[:password]@]host[:port][/db]` (IPv6 hosts in brackets; user and
    ///   password percent-encoded; `redis://:password@host` for `requirepass` only)
    /// - `rediss://[user[:password]@]host[:port][/db]` — TLS, with `tls` given (SessionKitTLS's
    ///   `TLSConfiguration`); redis-py's query parameters `ssl_cert_reqs` (`required`, the
    ///   default, `optional`, or `none`, which turns verification off), `ssl_ca_certs`,
    ///   `ssl_certfile` and `ssl_keyfile` override its settings. `rediss+cluster://` and
    ///   `rediss+sentinel://` are the TLS forms of the two below.
    /// - `unix:///path/to.sock[?db=N][&user=U][&password=P]` (`unix://user:pass@/path` works too)
    /// - `redis+cluster://[user[:password]@]host1[:port1],host2[:port2],...` — a Redis Cluster
    ///   through its seed nodes (default port 6379; no database: Cluster has only database 0)
    /// - `redis+sentinel://[user[:password]@]s1[:port1],s2[:port2],.../masterName[/db]` — the
    ///   primary that the Sentinels (default port 26379) monitor as `masterName`; user and password
    ///   are the data nodes', `?sentinel_password=P` is the Sentinels' own
    ///
    /// - Parameters:
    ///   - url: the URL.
    ///   - tls: the TLS settings for a `rediss://` URL (SessionKitTLS's `TLSConfiguration()` for
    ///     the defaults: verification against the system's trust store). Passing it with a
    ///     plaintext URL is an error (the settings would be ignored).
    /// - Throws: `SessionError` `.unsupported` for a `rediss://` URL without `tls` (the message
    ///   says how to add SessionKitTLS), `.invalidConfiguration` for anything that does not
    ///   parse, naming the part to fix.
    public init(url: String, tls: (any TransportSecurity)? = nil) throws {
        self.init()
        var url = url
        let lowered = url.lowercased()
        if lowered.hasPrefix("rediss://") || lowered.hasPrefix("rediss+") {
            guard let tls else {
                let scheme = lowered.prefix { $0 != ":" }
                throw SessionError(.unsupported, "\(scheme):// URLs need TLS from the SessionKitTLS product, and no TLS configuration was passed: add .product(name: \"SessionKitTLS\", package: \"SessionKit\") to the target's dependencies, `import SessionKitTLS`, and pass tls: TLSConfiguration() with the URL (RedisSessionStore(url:tls:), RedisSessionInterface(url:tls:), RedisConfiguration(url:tls:)) or set RedisConfiguration.tls")
            }
            // The rest parses as the plaintext form; the scheme only turns TLS on.
            url = "redis" + url.dropFirst("rediss".count)
            let parameters = URLQuery.parameters(of: url)
            do {
                self.tls = try tls.applying(urlParameters: parameters)
            } catch {
                throw SessionError(.invalidConfiguration, "the TLS parameters of the Redis URL '\(Self.redacted(url))' cannot be used: \(error)")
            }
        } else if tls != nil {
            throw SessionError(.invalidConfiguration, "TLS settings were passed with the plaintext URL '\(Self.redacted(url))', which would ignore them: use a rediss:// URL (rediss+cluster://, rediss+sentinel://) to connect with TLS, or drop tls: for a plaintext connection")
        }
        try parse(url)
    }

    private mutating func parse(_ url: String) throws {
        let lowered = url.lowercased()
        if lowered.hasPrefix("redis+cluster://") || lowered.hasPrefix("redis+sentinel://") {
            try parseMultiHost(url)
            return
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw SessionError(.invalidConfiguration, "'\(Self.redacted(url))' is not a valid Redis URL; use redis://[user[:password]@]host[:port][/db] or unix:///path/to.sock?db=N")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name.lowercased(), $0.value ?? "") }, uniquingKeysWith: { $1 })
        if let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty {
            username = user
        }
        if let pass = components.percentEncodedPassword.flatMap({ $0.removingPercentEncoding }) {
            password = pass
        }
        if let user = query["user"] ?? query["username"], !user.isEmpty { username = user }
        if let pass = query["password"] { password = pass }
        switch scheme {
        case "redis":
            guard var host = components.host, !host.isEmpty else {
                throw SessionError(.invalidConfiguration, "the Redis URL '\(Self.redacted(url))' has no host; use redis://host:6379")
            }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = components.port ?? 6379
            guard (1...65535).contains(port) else {
                throw SessionError(.invalidConfiguration, "the Redis URL's port \(port) is out of range 1...65535")
            }
            address = .tcp(host: host, port: port)
            let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw SessionError(.invalidConfiguration, "the Redis URL's path '/\(path)' must be a database number like /0")
                }
                database = db
            }
        case "unix":
            let path = components.path
            guard path.hasPrefix("/"), (components.host ?? "").isEmpty || components.host == "localhost" else {
                throw SessionError(.invalidConfiguration, "the Unix socket URL '\(Self.redacted(url))' needs an absolute path: unix:///run/redis/redis.sock")
            }
            address = .unix(path: path)
        default:
            throw SessionError(.invalidConfiguration, "unsupported Redis URL scheme '\(scheme)://'; use redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://")
        }
        if let db = query["db"] {
            guard let number = Int(db), number >= 0 else {
                throw SessionError(.invalidConfiguration, "the Redis URL's db=\(db) must be a non-negative database number")
            }
            database = number
        }
    }

    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let schemeEnd = url.range(of: "://") else { return url }
        guard schemeEnd.upperBound <= at else { return url }
        return url[..<schemeEnd.upperBound] + "***" + url[at...]
    }

    /// A description without the password.
    public var description: String {
        var text: String
        switch topology {
        case .standalone: text = "redis \(address) db \(database)"
        case .cluster(let seeds): text = "redis cluster via \(seeds.map(\.description).joined(separator: ","))"
        case .sentinel(let name, let sentinels): text = "redis primary '\(name)' via sentinels \(sentinels.map(\.description).joined(separator: ",")) db \(database)"
        }
        if let username { text += " user \(username)" }
        if let tls { text += " over TLS (\(tls))" }
        if password != nil { text += " (password set)" }
        return text
    }
}
