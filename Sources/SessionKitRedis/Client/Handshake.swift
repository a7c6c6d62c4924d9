import SessionKit
@_spi(Engine) import SessionKitNetworking

/// The connection handshake: `HELLO 3 [AUTH user pass] [SETNAME name]`, falling back to RESP2
/// with `AUTH`, `CLIENT SETNAME` and `SELECT` when the server does not know `HELLO`.
enum Handshake {
    static func perform(on connection: RedisConnection, configuration: RedisConfiguration, deadline: Deadline) async throws {
        let address = "\(configuration.address)"
        var resp3 = false
        if configuration.protocolVersion == .resp3 {
            var hello: [RedisArgument] = ["HELLO", "3"]
            if let password = configuration.password {
                hello += ["AUTH", RedisArgument(configuration.username ?? "default"), RedisArgument(password)]
            }
            if let name = configuration.clientName { hello += ["SETNAME", RedisArgument(name)] }
            let reply = try await connection.send(hello, deadline: deadline)
            switch reply {
            case .map, .array:
                resp3 = true
            case .error(let message):
                let kind = RedisErrorClass(message: message)
                if kind == .authentication {
                    throw authError(message, address: address, configuration: configuration)
                }
                guard message.hasPrefix("NOPROTO") || message.lowercased().contains("unknown command") else {
                    throw kind.error(message: message, address: address, command: "HELLO")
                }
            default:
                throw SessionError(.protocolError, "Redis at \(address) answered HELLO with \(reply.redactedDescription); expected a map")
            }
        }
        if !resp3 {
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let user = configuration.username, user != "default" { auth.append(RedisArgument(user)) }
                auth.append(RedisArgument(password))
                let reply = try await connection.send(auth, deadline: deadline)
                if case .error(let message) = reply {
                    throw authError(message, address: address, configuration: configuration)
                }
            }
            if let name = configuration.clientName {
                // Old servers may not know CLIENT SETNAME's arguments; a name is only a nicety.
                _ = try await connection.send(["CLIENT", "SETNAME", RedisArgument(name)], deadline: deadline)
            }
        }
        if configuration.database != 0 {
            let reply = try await connection.send(["SELECT", RedisArgument(configuration.database)], deadline: deadline)
            if case .error(let message) = reply {
                throw SessionError(.invalidConfiguration, "Redis at \(address) refused SELECT \(configuration.database) (\(RESPValue.redactedError(message))). Use a database the server has (see its 'databases' setting), or 0 on Redis Cluster")
            }
        }
    }

    private static func authError(_ message: String, address: String, configuration: RedisConfiguration) -> SessionError {
        let hint = configuration.password == nil
            ? "the server requires a password: put it in the URL (redis://:password@host or redis://user:password@host) or set RedisConfiguration.password"
            : "check the user name and password, and that the ACL user is enabled"
        return SessionError(.authenticationFailed, "Redis at \(address) refused the credentials (\(RESPValue.redactedError(message))); \(hint)")
    }
}
