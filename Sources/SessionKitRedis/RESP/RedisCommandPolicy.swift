import SessionKit

/// Which commands ``RedisClient/send(_:idempotent:)`` writes on the client's shared connections.
///
/// A `RedisClient` multiplexes every caller's commands over a few connections and hands out
/// replies first-in, first-out. That is only correct while each command written gets exactly
/// one reply, in order, and leaves the connection as it found it. Commands that break this —
/// they suppress replies, add replies, turn the connection into a stream of pushes, change its
/// database, identity or protocol for everyone, or hold every later reply back — would hand one
/// caller another caller's reply (one user another user's session), so `send` refuses them
/// before writing anything.
///
/// Not public: the only other value, ``unrestricted``, exists so that tests can show what
/// happens without the guard.
struct RedisCommandPolicy: Sendable {
    /// Whether refused commands are refused (`false` only in tests).
    let refusesConnectionStateCommands: Bool

    /// The policy of every client: connection-state commands are refused.
    static let sharedConnection = RedisCommandPolicy(refusesConnectionStateCommands: true)
    /// Test-only: every command goes out, as before the guard existed. Never use outside tests.
    static let unrestricted = RedisCommandPolicy(refusesConnectionStateCommands: false)

    /// Throws when `arguments` is a command refused on a shared connection.
    func check(_ arguments: [RedisArgument]) throws(SessionError) {
        guard refusesConnectionStateCommands, let refusal = Self.refusal(for: arguments) else { return }
        throw refusal
    }

    /// Why `arguments` may not go out on a shared connection, or `nil` when it may.
    ///
    /// Command names and subcommands match case-insensitively, as Redis matches them.
    static func refusal(for arguments: [RedisArgument]) -> SessionError? {
        guard let first = arguments.first else { return nil }
        let name = upper(first.bytes)
        if name == "CLIENT", arguments.count >= 2 {
            let sub = upper(arguments[1].bytes)
            guard let reason = clientSubcommands[sub] else { return nil }
            return refuse("CLIENT \(sub)", reason)
        }
        if let reason = commands[name] { return refuse(name, reason) }
        if name == "XREAD" || name == "XREADGROUP", blocks(arguments) {
            return refuse("\(name) ... BLOCK", blocking + " Use \(name) without BLOCK and poll.")
        }
        return nil
    }

    private static func refuse(_ command: String, _ reason: String) -> SessionError {
        SessionError(.unsupported, "RedisClient.send refuses \(command): \(reason) Nothing was sent.")
    }

    /// `XREAD`/`XREADGROUP` with a `BLOCK` option (options come before `STREAMS`; after it come
    /// keys and IDs, which may be named anything).
    private static func blocks(_ arguments: [RedisArgument]) -> Bool {
        for argument in arguments.dropFirst() {
            let word = upper(argument.bytes)
            if word == "STREAMS" { return false }
            if word == "BLOCK" { return true }
        }
        return false
    }

    /// ASCII upper case of a command word (at most 32 bytes are looked at: no command is longer).
    private static func upper(_ bytes: [UInt8]) -> String {
        guard bytes.count <= 32 else { return "" }
        return String(decoding: bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    private static let shared = "a RedisClient shares its connections between all callers and matches replies in order, so"

    private static let pubSub = "\(shared) a connection in pub/sub mode (its confirmations and messages arrive instead of, or between, other callers' replies) would hand callers each other's replies. Use a dedicated connection for pub/sub, from a client made for it (RedisClient has no pub/sub API)."

    private static let transaction = "\(shared) other callers' commands would be queued inside the transaction, or run under its WATCH. Use a Lua script (EVAL, EVALSHA or FCALL): it runs atomically on the server. A MULTI/EXEC transaction needs a dedicated connection."

    private static let blocking = "\(shared) a blocking command holds back every later caller's reply on its connection until it returns, and one that outlasts commandTimeout gets the connection closed as stalled, failing those callers. Run it on a dedicated connection."

    /// Refused commands (upper case), and why, with what to use instead.
    private static let commands: [String: String] = [
        "SUBSCRIBE": pubSub, "PSUBSCRIBE": pubSub, "SSUBSCRIBE": pubSub,
        "UNSUBSCRIBE": pubSub, "PUNSUBSCRIBE": pubSub, "SUNSUBSCRIBE": pubSub,
        "MONITOR": "\(shared) a monitoring connection streams every command the server runs as replies nobody asked for. Use redis-cli MONITOR, or a dedicated connection.",
        "SYNC": "it turns the connection into a replication stream. Use a dedicated connection.",
        "PSYNC": "it turns the connection into a replication stream. Use a dedicated connection.",
        "REPLCONF": "it is part of the replication handshake and changes how the connection is answered. Use a dedicated connection.",
        "RESET": "\(shared) it resets the connection for everyone: back to RESP2, database 0, the default user, out of any transaction or subscription. To start afresh, close() the client and create a new one.",
        "QUIT": "\(shared) it closes the connection under every other caller's commands. Use close().",
        "HELLO": "\(shared) it changes the protocol, user or name of the connection for everyone. Set RedisConfiguration.protocolVersion, username, password and clientName; every connection is set up with them.",
        "AUTH": "\(shared) it changes the user every other caller's commands run as. Set RedisConfiguration.username and password (or put them in the URL); every connection authenticates with them.",
        "SELECT": "\(shared) it moves every other caller's commands to another database. Set RedisConfiguration.database (the /N of the URL), with one client per database.",
        "MULTI": transaction, "EXEC": transaction, "DISCARD": transaction,
        "WATCH": transaction, "UNWATCH": transaction,
        "READONLY": "\(shared) it changes which node may answer every other caller's reads on a Redis Cluster connection. The client sends every command to the primary that owns its slot.",
        "READWRITE": "\(shared) it changes which node may answer every other caller's reads on a Redis Cluster connection. The client sends every command to the primary that owns its slot.",
        "ASKING": "\(shared) it would apply to whichever caller's command comes next. The client follows ASK redirections itself.",
        "BLPOP": blocking + " Or use LPOP and poll.",
        "BRPOP": blocking + " Or use RPOP and poll.",
        "BRPOPLPUSH": blocking + " Or use LMOVE and poll.",
        "BLMOVE": blocking + " Or use LMOVE and poll.",
        "BLMPOP": blocking + " Or use LMPOP and poll.",
        "BZPOPMIN": blocking + " Or use ZPOPMIN and poll.",
        "BZPOPMAX": blocking + " Or use ZPOPMAX and poll.",
        "BZMPOP": blocking + " Or use ZMPOP and poll.",
        "WAIT": blocking,
        "WAITAOF": blocking,
    ]

    /// Refused `CLIENT` subcommands (upper case); other subcommands (SETNAME, INFO, ID, LIST...) go out.
    private static let clientSubcommands: [String: String] = [
        "REPLY": "\(shared) CLIENT REPLY OFF or SKIP suppresses replies, so every later caller would receive the reply meant for someone else. Every command's reply is read; ignore the ones you do not need.",
        "TRACKING": "\(shared) client-side caching belongs to the connection (its invalidations arrive as pushes or redirected messages) and would cover every caller's reads. Use a dedicated connection for client-side caching.",
        "CACHING": "\(shared) it applies to whichever caller's command comes next, and client-side caching is not available on shared connections. Use a dedicated connection for client-side caching.",
    ]
}
