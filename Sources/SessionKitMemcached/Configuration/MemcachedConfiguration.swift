import SessionKit
@_spi(Engine) import SessionKitNetworking

/// How to reach and talk to one memcached server or a ring of them.
///
/// Build it in code, or from a string:
///
/// ```swift
/// let one = try MemcachedConfiguration(url: "memcached://cache.internal:11211")
/// let ring = try MemcachedConfiguration(url: "memcached://cache1:11211,cache2:11211,cache3:11212")
/// let socket = try MemcachedConfiguration(url: "unix:///run/memcached/memcached.sock")
/// var custom = MemcachedConfiguration(servers: [.tcp(host: "10.0.0.5", port: 11211)])
/// custom.commandTimeout = .milliseconds(500)
/// ```
///
/// With several servers, keys are spread over a ketama ring compatible with libmemcached's
/// `ketama_weighted` distribution (see ``KetamaRing``).
///
/// TLS (memcached 1.6 with `-Z`) comes from the SessionKitTLS product: set ``tls`` to its
/// `TLSConfiguration`, or pass one with a `memcached+tls://` server list:
///
/// ```swift
/// import SessionKitTLS
/// let secure = try MemcachedConfiguration(url: "memcached+tls://cache1:11211,cache2:11211", tls: TLSConfiguration())
/// ```
public struct MemcachedConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Where one server listens.
    public enum Server: Sendable, Hashable, CustomStringConvertible {
        /// A TCP server: a host name, an IPv4 address or an IPv6 address (without brackets).
        case tcp(host: String, port: Int)
        /// A Unix domain socket.
        case unix(path: String)

        /// The name this server is hashed under on the ketama ring, as libmemcached does it:
        /// `host` on port 11211, `host:port` otherwise (`path:0` for a Unix socket).
        public var ketamaName: String {
            switch self {
            case .tcp(let host, let port): return KetamaRing.name(host: host, port: port)
            case .unix(let path): return KetamaRing.name(host: path, port: 0)
            }
        }

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }
    }

    /// The servers; keys are spread over them with a ketama ring. Default `127.0.0.1:11211`.
    public var servers: [Server]
    /// How many connections to multiplex commands over, per server. Default 2.
    public var connectionsPerServer: Int
    /// The deadline for resolving and connecting. Default 2 s.
    public var connectTimeout: Duration
    /// The deadline for one command, from the call to the reply, including waiting for a
    /// connection and a retry. Default 2 s.
    public var commandTimeout: Duration
    /// The first reconnect delay; it doubles after each failure, with jitter. Default 50 ms.
    public var reconnectDelay: Duration
    /// The cap on the reconnect delay. Default 2 s.
    public var maxReconnectDelay: Duration
    /// The server's item size limit (memcached's `-I`), in bytes. Default 1 MiB, memcached's
    /// default. Larger values are refused before anything is sent, because the server would
    /// answer an oversized `set` by deleting the key's current value.
    public var maxItemSize: Int
    /// With several servers and ``ejectsDeadServers``: after this many consecutive failed
    /// connection attempts, a server is taken off the ring (its keys move to the others) until
    /// ``deadServerRetryInterval`` has passed. Default 2.
    public var serverFailureLimit: Int
    /// How long an ejected server stays off the ring before it is tried again. Default 2 s.
    public var deadServerRetryInterval: Duration
    /// Whether dead servers are taken off the ring (only with several servers). Default
    /// `false`: the ring stays fixed, and the keys of a server that does not answer fail with
    /// `storeUnavailable` until it is back, as libmemcached does by default.
    ///
    /// With `true`, a dead server's keys move to the next server on the ring and its users get
    /// new sessions instead of errors. When its retry time has come, the client flushes it
    /// (`flush_all`: everything it held is gone, for every client of that server, so its users
    /// sign in again) and puts it back only after the flush succeeded, so that it cannot serve
    /// a session that ended while it was away. Deletes also go to each key's fallback server,
    /// so that the copies written there during an outage cannot come back in the next one.
    /// See Docs/memcached.md for what remains when several application instances disagree
    /// about which servers are up.
    public var ejectsDeadServers: Bool
    /// The most commands waiting for replies on one connection; beyond it calls fail at once
    /// with `storeUnavailable` instead of queueing without bound. Default 50,000.
    public var maxPendingCommandsPerConnection: Int
    /// How many I/O threads (event loops) the connections are spread over: a server's
    /// connection `i` runs on loop `(server + i) % eventLoopCount`. Loops are shared by every
    /// client of the process. Default 1, chosen by measurement (see Docs/networking.md); more
    /// only helps with several connections on a machine with cores to spare. 1...64.
    public var eventLoopCount: Int
    /// How the connections are secured: SessionKitTLS's `TLSConfiguration` for servers started
    /// with `-Z`, or `nil` (the default) for plaintext. It applies to every TCP server of the
    /// list; each server's certificate must name the host or address it is listed under (or
    /// `TLSConfiguration.serverName`).
    public var tls: (any TransportSecurity)? {
        get { tlsStorage?.base }
        set { tlsStorage = newValue.map(AnyTransportSecurity.init) }
    }
    private var tlsStorage: AnyTransportSecurity?

    /// Creates a configuration; every parameter has a default.
    public init(
        servers: [Server] = [.tcp(host: "127.0.0.1", port: 11211)],
        connectionsPerServer: Int = 2,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2),
        reconnectDelay: Duration = .milliseconds(50),
        maxReconnectDelay: Duration = .seconds(2),
        maxItemSize: Int = 1024 * 1024,
        serverFailureLimit: Int = 2,
        deadServerRetryInterval: Duration = .seconds(2),
        ejectsDeadServers: Bool = false,
        maxPendingCommandsPerConnection: Int = 50_000,
        eventLoopCount: Int = 1,
        tls: (any TransportSecurity)? = nil
    ) {
        self.servers = servers
        self.connectionsPerServer = connectionsPerServer
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.maxItemSize = maxItemSize
        self.serverFailureLimit = serverFailureLimit
        self.deadServerRetryInterval = deadServerRetryInterval
        self.ejectsDeadServers = ejectsDeadServers
        self.maxPendingCommandsPerConnection = maxPendingCommandsPerConnection
        self.eventLoopCount = eventLoopCount
        self.tlsStorage = tls.map(AnyTransportSecurity.init)
    }

    /// Creates a configuration from a server list; the other settings keep their defaults.
    ///
    /// Accepted forms:
    /// - `memcached://host1:11211,host2:11212` (also `memcache://`; the port defaults to
    ///   11211; IPv6 addresses in brackets: `memcached://[::1]:11211`)
    /// - `unix:///run/memcached/memcached.sock`
    /// - a bare list `host1:11211,host2` or a socket path `/run/memcached.sock`, as libmemcached
    ///   and pylibmc take them.
    /// - `memcached+tls://host1:11211,host2:11212[?ssl_ca_certs=/path/ca.pem]` — the TLS flag:
    ///   every server over TLS, with `tls` given (SessionKitTLS's `TLSConfiguration`); the query
    ///   takes the same parameters as a `rediss://` URL (`ssl_cert_reqs`, `ssl_ca_certs`,
    ///   `ssl_certfile`, `ssl_keyfile`).
    ///
    /// - Parameters:
    ///   - url: the server list.
    ///   - tls: the TLS settings for a `memcached+tls://` list. Passing it with a plaintext list is an
    ///     error (the settings would be ignored).
    /// - Throws: `SessionError` `.unsupported` for a `memcached+tls://` list without `tls` (the
    ///   message says how to add SessionKitTLS), `.invalidConfiguration` naming the part that
    ///   does not parse.
    public init(url: String, tls: (any TransportSecurity)? = nil) throws(SessionError) {
        self.init(servers: [])
        var trimmed = url.trimmingCharactersInSpaces()
        var lowered = trimmed.lowercased()
        for scheme in ["memcached+tls://", "memcache+tls://"] where lowered.hasPrefix(scheme) {
            guard let tls else {
                throw SessionError(.unsupported, "\(scheme) server lists need TLS from the SessionKitTLS product, and no TLS configuration was passed: add .product(name: \"SessionKitTLS\", package: \"SessionKit\") to the target's dependencies, `import SessionKitTLS`, and pass tls: TLSConfiguration() with the list (MemcachedSessionStore(url:tls:), MemcacheSessionInterface(url:tls:), MemcachedConfiguration(url:tls:)) or set MemcachedConfiguration.tls")
            }
            do {
                self.tls = try tls.applying(urlParameters: URLQuery.parameters(of: trimmed))
            } catch {
                throw SessionError(.invalidConfiguration, "the TLS parameters of the memcached server list '\(url)' cannot be used: \(error)")
            }
            trimmed = "memcached://" + trimmed.dropFirst(scheme.count).prefix { $0 != "?" }
            lowered = trimmed.lowercased()
        }
        if tls != nil && self.tls == nil {
            throw SessionError(.invalidConfiguration, "TLS settings were passed with the plaintext server list '\(url)', which would ignore them: use a memcached+tls:// list to connect with TLS, or drop tls: for plaintext connections")
        }
        var list = trimmed
        for scheme in ["memcached://", "memcache://"] where lowered.hasPrefix(scheme) {
            list = String(trimmed.dropFirst(scheme.count))
            while list.hasSuffix("/") { list.removeLast() }
        }
        if lowered.hasPrefix("unix://") {
            let path = String(trimmed.dropFirst("unix://".count))
            guard path.hasPrefix("/") else {
                throw SessionError(.invalidConfiguration, "the Unix socket address '\(url)' needs an absolute path: unix:///run/memcached/memcached.sock")
            }
            servers = [.unix(path: path)]
            return
        }
        if lowered.contains("://") && list == trimmed {
            throw SessionError(.invalidConfiguration, "unsupported memcached address scheme in '\(url)'; use memcached://host:port[,host:port...] or unix:///path/to.sock")
        }
        for entry in list.split(separator: ",", omittingEmptySubsequences: false) {
            let item = String(entry).trimmingCharactersInSpaces()
            guard !item.isEmpty else {
                throw SessionError(.invalidConfiguration, "the memcached server list '\(url)' has an empty entry; separate servers with single commas: memcached://host1:11211,host2:11211")
            }
            servers.append(try Self.parseServer(item, in: url))
        }
        guard !servers.isEmpty else {
            throw SessionError(.invalidConfiguration, "the memcached server list '\(url)' names no server; use memcached://host:11211")
        }
    }

    private static func parseServer(_ item: String, in url: String) throws(SessionError) -> Server {
        if item.hasPrefix("/") { return .unix(path: item) }
        var host: Substring
        var portText: Substring?
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else {
                throw SessionError(.invalidConfiguration, "the IPv6 address in '\(item)' lacks its closing bracket; write memcached://[::1]:11211")
            }
            host = item[item.index(after: item.startIndex)..<close]
            let after = item[item.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw SessionError(.invalidConfiguration, "unexpected text after the IPv6 address in '\(item)'; write [address]:port")
                }
                portText = after.dropFirst()
            }
        } else if item.filter({ $0 == ":" }).count > 1 {
            throw SessionError(.invalidConfiguration, "'\(item)' looks like an IPv6 address; put it in brackets: memcached://[\(item)]:11211")
        } else if let colon = item.firstIndex(of: ":") {
            host = item[..<colon]
            portText = item[item.index(after: colon)...]
        } else {
            host = item[...]
        }
        guard !host.isEmpty, host.allSatisfy({ $0 != "/" && $0 != "@" && $0 != " " }) else {
            throw SessionError(.invalidConfiguration, "'\(item)' in the memcached server list '\(url)' has no valid host; use host:port")
        }
        var port = 11211
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw SessionError(.invalidConfiguration, "the port '\(portText)' of '\(item)' is not a number in 1...65535")
            }
            port = number
        }
        return .tcp(host: String(host), port: port)
    }

    /// Checks that the settings are usable.
    func validate() throws(SessionError) {
        guard !servers.isEmpty else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.servers is empty; name at least one server")
        }
        guard Set(servers).count == servers.count else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.servers lists a server twice; name each server once")
        }
        guard (1...64).contains(connectionsPerServer) else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.connectionsPerServer is \(connectionsPerServer); use 1...64 (2 is plenty: connections are multiplexed)")
        }
        guard (1...64).contains(eventLoopCount) else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.eventLoopCount is \(eventLoopCount); use 1...64 (one I/O thread per core at most)")
        }
        guard commandTimeout > .zero, connectTimeout > .zero, deadServerRetryInterval >= .zero else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.commandTimeout and connectTimeout must be positive")
        }
        guard maxItemSize >= 1024 else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.maxItemSize is \(maxItemSize); use memcached's item size (-I), 1 MiB by default")
        }
        guard serverFailureLimit >= 1, maxPendingCommandsPerConnection >= 1 else {
            throw SessionError(.invalidConfiguration, "MemcachedConfiguration.serverFailureLimit and maxPendingCommandsPerConnection must be at least 1")
        }
    }

    /// The servers, comma separated.
    public var description: String {
        "memcached " + servers.map(\.description).joined(separator: ",") + (tls.map { " over TLS (\($0))" } ?? "")
    }
}

extension String {
    func trimmingCharactersInSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\n" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\n" { scalars.removeLast() }
        return String(scalars)
    }
}

extension MemcachedConfiguration.Server {
    /// Whether this is a Unix domain socket, which never runs TLS.
    var isUnixSocket: Bool {
        if case .unix = self { return true }
        return false
    }

    /// Where the engine connects.
    var endpoint: Endpoint {
        switch self {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }
}
