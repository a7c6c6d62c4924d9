import SessionKit
@_spi(Engine) import SessionKitNetworking

extension ServerLabel {
    /// A memcached server, for the engine's messages.
    static func memcached(at address: String) -> ServerLabel {
        ServerLabel(product: "memcached", address: address, client: "MemcachedClient", connectionSetting: "connectionsPerServer",
                    setupHint: "check that memcached is running and the server list is right",
                    tlsHint: "use a memcached+tls:// server list, or set MemcachedConfiguration.tls (import SessionKitTLS)")
    }
}

/// How a memcached client opens a connection to one server; failures become `SessionError`s
/// that say what to check.
struct MemcachedConnector: ConnectionFactory {
    let server: MemcachedConfiguration.Server
    let configuration: MemcachedConfiguration
    /// Makes each connection's TLS filter; `nil` for plaintext.
    let transport: (any TransportFactory)?
    let faults: ConnectionFaults

    func connect(on loop: EventLoop) async throws -> MemcachedConnection {
        let connection = MemcachedConnection(server: server, loop: loop, configuration: configuration, faults: faults)
        do {
            try await connection.open(endpoint: server.endpoint, timeout: configuration.connectTimeout, transport: transport)
        } catch {
            throw (error as? NetworkError).map(SessionError.init) ?? SessionError(.storeUnavailable, "cannot connect to \(connection.label): \(error)")
        }
        return connection
    }

    func failFastError(after error: any Error, remaining: Duration) -> any Error {
        guard let last = error as? SessionError else { return error }
        return SessionError(last.code, "\(last.message). Failing fast for another \(Int(remaining.milliseconds.rounded(.up))) ms before the next reconnect attempt")
    }

    var slowConnectHint: String {
        transport == nil
            ? "the server may be unreachable or overloaded"
            : "the server may be unreachable or overloaded, or its port may not speak TLS (a TLS handshake with a plaintext port fails only at connectTimeout: keep connectTimeout below commandTimeout to see that error)"
    }
}
