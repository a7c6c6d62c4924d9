import SessionKit

/// What ``MemcachedClient/send(_:)`` lets through, and how meta replies are matched.
///
/// A `MemcachedClient` multiplexes every caller's commands over a few connections and matches
/// replies in order. That is only correct while each command gets exactly one reply. The meta
/// flag `q` (quiet) makes memcached leave out some replies (a miss, a stored `HD`), so every
/// later caller on the connection would receive the reply meant for the one before: `send`
/// refuses it before writing anything. The flag `O` (opaque) is the client's own: it puts
/// `O<token>` on every meta command it writes and checks that the reply carries the same token
/// and is of a kind the command can get (`mg`: `VA`/`EN`/`HD`; `ms`: `HD`/`NS`/`EX`/`NF`; `md`:
/// `HD`/`NF`/`EX`; `mn`: `MN`); anything else closes the connection as out of step.
///
/// The classic commands of ``MemcachedCommand`` cannot carry `noreply`, so they need no check.
///
/// Not public: the other values exist so that tests can show what happens without the guard.
struct MemcachedCommandPolicy: Sendable {
    /// Whether `send` refuses the meta flags `q` and `O` (`false` only in tests).
    let refusesReplyChangingFlags: Bool
    /// Whether meta replies are matched by kind and opaque token (`false` only in tests: every
    /// meta reply is then accepted for any meta command, as before the check existed).
    let matchesMetaReplies: Bool

    /// The policy of every client.
    static let sharedConnection = MemcachedCommandPolicy(refusesReplyChangingFlags: true, matchesMetaReplies: true)
    /// Test-only: `q` and `O` go out; replies are still matched. Never use outside tests.
    static let unguarded = MemcachedCommandPolicy(refusesReplyChangingFlags: false, matchesMetaReplies: true)
    /// Test-only: the client as it was before the guard and the matching. Never use outside tests.
    static let unguardedUnmatched = MemcachedCommandPolicy(refusesReplyChangingFlags: false, matchesMetaReplies: false)

    /// Throws `.unsupported` when `command` carries a meta flag refused on a shared connection.
    func check(_ command: MemcachedCommand) throws(SessionError) {
        guard refusesReplyChangingFlags else { return }
        let flags: [String]
        switch command {
        case .metaGet(_, let f), .metaSet(_, _, let f), .metaDelete(_, let f): flags = f
        default: return
        }
        for flag in flags {
            switch flag.utf8.first {
            case UInt8(ascii: "q"):
                throw SessionError(.unsupported, "MemcachedClient.send refuses the meta flag q (quiet) on \(command.name): memcached then leaves out some replies, and since a MemcachedClient shares its connections between all callers and matches replies in order, every later caller would receive the reply meant for someone else. Leave q out: the client already pipelines concurrent commands. Nothing was sent.")
            case UInt8(ascii: "O"):
                throw SessionError(.unsupported, "MemcachedClient.send refuses the meta flag O (opaque) on \(command.name): the client puts its own opaque token on every meta command to match replies to their callers. Leave it out. Nothing was sent.")
            default:
                continue
            }
        }
    }
}

/// The statuses a meta command can be answered with.
enum MetaReplyKind: Sendable {
    case get, set, delete, noop

    init?(_ command: MemcachedCommand) {
        switch command {
        case .metaGet: self = .get
        case .metaSet: self = .set
        case .metaDelete: self = .delete
        case .metaNoop: self = .noop
        default: return nil
        }
    }

    func accepts(_ status: MemcachedMetaReply.Status) -> Bool {
        switch (self, status) {
        case (.get, .value), (.get, .end), (.get, .headerOnly): return true
        case (.set, .headerOnly), (.set, .notStored), (.set, .exists), (.set, .notFound): return true
        case (.delete, .headerOnly), (.delete, .notFound), (.delete, .exists): return true
        case (.noop, .noop): return true
        default: return false
        }
    }

    /// Whether the client puts an opaque token on the command (`mn` takes none).
    var carriesOpaque: Bool { self != .noop }
}
