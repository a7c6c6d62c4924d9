import SessionKit
@_spi(Engine) import SessionKitNetworking

extension ServerLabel {
    /// A Redis server, for the engine's messages.
    static func redis(at address: String) -> ServerLabel {
        ServerLabel(product: "Redis", address: address, client: "RedisClient", connectionSetting: "connectionCount",
                    setupHint: "check that redis-server is running and the URL is right",
                    tlsHint: "use a rediss:// URL, or set RedisConfiguration.tls (import SessionKitTLS)")
    }
}

/// Finds the server to connect to at each (re)connect, and checks it after the handshake
/// (Sentinel: the current primary, whose `ROLE` must be master).
protocol NodeLocator: Sendable {
    /// The address to connect to now.
    func locate(deadline: Deadline) async throws -> RedisConfiguration.Address
    /// Checks the freshly connected server; throws to refuse it.
    func verify(_ connection: RedisConnection, at address: RedisConfiguration.Address, deadline: Deadline) async throws
}

/// How a Redis client opens a connection: find the server (Sentinel), connect, perform the
/// handshake, check the server; every failure becomes a `SessionError` that says what to do.
extension RedisConfiguration.Address {
    /// Whether this is a Unix domain socket, which never runs TLS.
    var isUnixSocket: Bool {
        if case .unix = self { return true }
        return false
    }
}

struct RedisConnector: ConnectionFactory {
    let configuration: RedisConfiguration
    let locator: (any NodeLocator)?
    /// Makes each connection's TLS filter; `nil` for plaintext.
    let transport: (any TransportFactory)?
    let faults: ConnectionFaults

    func connect(on loop: EventLoop) async throws -> RedisConnection {
        let deadline = Deadline.after(configuration.connectTimeout)
        var target = configuration.address
        if let locator {
            do {
                target = try await locator.locate(deadline: deadline)
            } catch {
                throw (error as? SessionError) ?? SessionError(.storeUnavailable, "cannot find the Redis primary: \(error)")
            }
        }
        let connection = RedisConnection(address: "\(target)", loop: loop, configuration: configuration, faults: faults)
        do {
            try await connection.open(endpoint: target.endpoint, timeout: max(deadline.remaining, .milliseconds(1)),
                                      transport: target.isUnixSocket ? nil : transport)
            try await Handshake.perform(on: connection, configuration: configuration, deadline: deadline)
            try await locator?.verify(connection, at: target, deadline: deadline)
            return connection
        } catch {
            // The handshake's own errors as they are; the engine's turned into the store's.
            let failure = (error as? SessionError) ?? (error as? NetworkError).map(SessionError.init) ?? SessionError(.storeUnavailable, "cannot connect to \(connection.label): \(error)")
            connection.close(reason: failure)
            throw failure
        }
    }

    func failFastError(after error: any Error, remaining: Duration) -> any Error {
        let last = (error as? SessionError) ?? SessionError(.storeUnavailable, "\(error)")
        return SessionError(last.code, "\(last.message). Failing fast for another \(Int(remaining.milliseconds.rounded(.up))) ms before the next reconnect attempt")
    }

    var slowConnectHint: String {
        transport == nil
            ? "the server may be unreachable or overloaded"
            : "the server may be unreachable or overloaded, or its port may not speak TLS (a TLS handshake with a plaintext port fails only at connectTimeout: keep connectTimeout below commandTimeout to see that error)"
    }
}
