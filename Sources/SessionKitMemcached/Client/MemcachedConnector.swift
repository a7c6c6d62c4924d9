import SessionKit
@_spi(Engine) import SessionKitNetworking

/// How a memcached client opens a connection to one server; failures become `SessionError`s
/// that say what to check.
struct MemcachedConnector: ConnectionFactory {
    let server: MemcachedConfiguration.Server
    let configuration: MemcachedConfiguration
    let faults: ConnectionFaults

    func connect(on loop: EventLoop) async throws -> MemcachedConnection {
        let connection = MemcachedConnection(server: server, loop: loop, configuration: configuration, faults: faults)
        do {
            try await connection.open(endpoint: server.endpoint, timeout: configuration.connectTimeout)
        } catch {
            throw SessionError(connectFailure: error, to: connection.label)
        }
        return connection
    }

    func failFastError(after error: any Error, remaining: Duration) -> any Error {
        guard let last = error as? SessionError else { return error }
        return SessionError(last.code, "\(last.message). Failing fast for another \(Int(remaining.milliseconds.rounded(.up))) ms before the next reconnect attempt")
    }
}

extension MemcachedConfiguration.Server {
    /// Where the engine connects.
    var endpoint: Endpoint {
        switch self {
        case .tcp(let host, let port): return .tcp(host: host, port: port)
        case .unix(let path): return .unix(path: path)
        }
    }
}
