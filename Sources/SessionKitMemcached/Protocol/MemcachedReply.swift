/// One item of a `get`/`gets`/`gat`/`gats` reply.
public struct MemcachedItem: Sendable, Hashable {
    /// The item's key.
    public var key: String
    /// The stored bytes.
    public var value: [UInt8]
    /// The 32-bit client flags stored with the item.
    public var flags: UInt32
    /// The compare-and-swap token (`gets`/`gats` only).
    public var cas: UInt64?

    /// Creates an item.
    public init(key: String, value: [UInt8], flags: UInt32 = 0, cas: UInt64? = nil) {
        self.key = key
        self.value = value
        self.flags = flags
        self.cas = cas
    }
}

/// A reply of the meta protocol (`mg`, `ms`, `md`, `mn`...).
public struct MemcachedMetaReply: Sendable, Hashable {
    /// The two-letter status code.
    public enum Status: String, Sendable, Hashable {
        /// `HD`: success, no value.
        case headerOnly = "HD"
        /// `VA`: success with a value.
        case value = "VA"
        /// `EN`: `mg` miss.
        case end = "EN"
        /// `NF`: not found.
        case notFound = "NF"
        /// `NS`: not stored.
        case notStored = "NS"
        /// `EX`: the CAS token did not match.
        case exists = "EX"
        /// `MN`: the answer to `mn`.
        case noop = "MN"
    }

    /// The status.
    public var status: Status
    /// The returned flags, each a letter and its token (`t59`, `c12345`, `Oabc`).
    public var flags: [String]
    /// The value, for `VA`.
    public var value: [UInt8]?

    /// Creates a meta reply.
    public init(status: Status, flags: [String] = [], value: [UInt8]? = nil) {
        self.status = status
        self.flags = flags
        self.value = value
    }

    /// The token of the first returned flag `letter` (`flag("t")` is the remaining TTL).
    public func flag(_ letter: Character) -> String? {
        flags.first { $0.first == letter }.map { String($0.dropFirst()) }
    }
}

/// A complete reply from memcached's text or meta protocol.
public enum MemcachedReply: Sendable, Hashable {
    /// `VALUE ...` blocks then `END`: the items found (none on a miss).
    case values([MemcachedItem])
    /// `STORED`.
    case stored
    /// `NOT_STORED`: an `add`/`replace` condition failed.
    case notStored
    /// `EXISTS`: a `cas` lost the race.
    case exists
    /// `NOT_FOUND`.
    case notFound
    /// `DELETED`.
    case deleted
    /// `TOUCHED`.
    case touched
    /// `OK`.
    case ok
    /// A number (the result of `incr`/`decr`).
    case number(UInt64)
    /// `VERSION <text>`.
    case version(String)
    /// `ERROR [text]`: the server did not understand the command.
    case error(String)
    /// `CLIENT_ERROR <text>`: the command was malformed.
    case clientError(String)
    /// `SERVER_ERROR <text>`: the server failed (out of memory, object too large...).
    case serverError(String)
    /// A meta protocol reply.
    case meta(MemcachedMetaReply)

    /// Whether this is one of the three error replies.
    public var isError: Bool {
        switch self {
        case .error, .clientError, .serverError: return true
        default: return false
        }
    }
}
