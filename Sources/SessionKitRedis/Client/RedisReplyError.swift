import SessionKit

/// How the client reacts to an error reply, by its prefix.
enum RedisErrorClass: Equatable {
    /// The server could not run the command right now (`LOADING`, `TRYAGAIN`, `CLUSTERDOWN`,
    /// `MASTERDOWN`, `BUSY`): retry after a short wait.
    case retry
    /// The connection reaches a replica (`READONLY`, a demoted primary): reconnect and retry.
    case reconnect
    /// Credentials or permissions (`NOAUTH`, `WRONGPASS`, `NOPERM`): fatal.
    case authentication
    /// A Cluster redirection (`MOVED`, `ASK`): followed by a Cluster client, up to
    /// ``RedisConfiguration/maxRedirections``; an error for a standalone client.
    case redirect
    /// `OOM`: Redis hit `maxmemory`.
    case outOfMemory
    /// Any other error (`ERR`, `WRONGTYPE`...): the command is wrong; fatal.
    case fatal

    init(message: String) {
        let prefix = message.prefix { $0 != " " }
        switch prefix {
        case "LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "BUSY": self = .retry
        case "READONLY": self = .reconnect
        case "NOAUTH", "WRONGPASS", "NOPERM": self = .authentication
        case "MOVED", "ASK": self = .redirect
        case "OOM": self = .outOfMemory
        default: self = .fatal
        }
    }

    /// The `SessionError` a caller sees when the error is final.
    func error(message: String, address: String, command: String) -> SessionError {
        let message = RESPValue.redactedError(message)
        switch self {
        case .retry:
            return SessionError(.storeUnavailable, "Redis at \(address) could not run \(command) and kept refusing after retries: \(message). It is loading its dataset, failing over or busy; try again shortly")
        case .reconnect:
            return SessionError(.storeUnavailable, "Redis at \(address) is a read-only replica (\(message)); point the client at the primary")
        case .authentication:
            return SessionError(.authenticationFailed, "Redis at \(address) refused \(command): \(message). Check the user name and password (redis://user:password@host) and the user's ACL permissions")
        case .redirect:
            return SessionError(.unsupported, "Redis at \(address) redirected \(command) (\(message)): it is a Redis Cluster node. Configure the client for a cluster (redis+cluster://host1:port1,host2:port2 or RedisConfiguration.topology = .cluster); a cluster client sees this only after maxRedirections redirections in a row, while slots move")
        case .outOfMemory:
            return SessionError(.storeFailure, "Redis at \(address) is out of memory (\(message)); raise maxmemory or set an eviction policy such as volatile-lru")
        case .fatal:
            return SessionError(.serverError, "Redis at \(address) rejected \(command): \(message)")
        }
    }
}
