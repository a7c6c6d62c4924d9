/// Faults a test injects into the engine, to show that its checks catch what they are meant
/// to catch. Production code always uses ``none``; nothing outside tests sets anything else.
///
/// One value, handed to a client at construction (an internal initializer the tests reach with
/// `@testable import`), instead of flags on the production types.
@_spi(Engine) public struct ConnectionFaults: Sendable, Hashable {
    /// Free a cancelled or timed-out request's reply slot (the 2023 redis-py bug), and accept
    /// any reply for any request: replies then reach the wrong callers.
    @_spi(Engine) public var freesCancelledSlots = false
    /// Whether a command timing out closes a stalled connection (nothing read since it was sent,
    /// or its oldest command past its deadline). Off only in tests of deadline handling itself.
    @_spi(Engine) public var closesStalledConnections = true

    @_spi(Engine) public init(freesCancelledSlots: Bool = false, closesStalledConnections: Bool = true) {
        self.freesCancelledSlots = freesCancelledSlots
        self.closesStalledConnections = closesStalledConnections
    }

    /// No fault: what every production client uses.
    @_spi(Engine) public static let none = ConnectionFaults()
    /// The redis-py 2023 bug: cancelled requests' slots are freed.
    @_spi(Engine) public static let freedSlots = ConnectionFaults(freesCancelledSlots: true)
}

/// How the engine names a server and its client in error messages:
/// "Redis at 10.0.0.1:6379", "this RedisClient was closed".
@_spi(Engine) public struct ServerLabel: Sendable, Hashable, CustomStringConvertible {
    /// The server software, as users call it: "Redis", "memcached".
    @_spi(Engine) public let product: String
    /// Where it is: `host:port`, `unix:/path`, or a description ("the primary found through Sentinel").
    @_spi(Engine) public let address: String
    /// The client type, for "this RedisClient was closed".
    @_spi(Engine) public let client: String
    /// The configuration setting that adds connections, for the overload hint.
    @_spi(Engine) public let connectionSetting: String
    /// What to check when nothing answers: "check that redis-server is running and the URL is right".
    @_spi(Engine) public let setupHint: String
    /// How to turn TLS on, for a plaintext connection that a TLS port hung up on: "use a
    /// rediss:// URL ...". `nil` leaves the hint out.
    @_spi(Engine) public let tlsHint: String?

    @_spi(Engine) public init(product: String, address: String, client: String, connectionSetting: String, setupHint: String,
                              tlsHint: String? = nil) {
        self.product = product
        self.address = address
        self.client = client
        self.connectionSetting = connectionSetting
        self.setupHint = setupHint
        self.tlsHint = tlsHint
    }

    /// The same server software at another address.
    @_spi(Engine) public func at(_ address: String) -> ServerLabel {
        ServerLabel(product: product, address: address, client: client, connectionSetting: connectionSetting, setupHint: setupHint,
                    tlsHint: tlsHint)
    }

    @_spi(Engine) public var description: String { "\(product) at \(address)" }

    /// The error of a call on a client that was closed.
    @_spi(Engine) public var clientClosed: NetworkError {
        NetworkError(.shutDown, "this \(client) was closed; create a new one")
    }
}
