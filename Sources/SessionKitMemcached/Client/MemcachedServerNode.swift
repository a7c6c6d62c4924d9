import SessionKit
@_spi(Engine) import SessionKitNetworking
import Synchronization

/// One server of the client: its connections and its health.
final class MemcachedServerNode: Sendable {
    let server: MemcachedConfiguration.Server
    let index: Int
    let health: ServerHealth
    private let slots: [ConnectionSlot<MemcachedConnector>]
    private let nextSlot = Atomic<Int>(0)

    /// - Parameters:
    ///   - group: the event loops; the server's connection `i` runs on loop `index + i`.
    ///   - faults: test-only faults injected into the engine.
    ///   - transport: makes each connection's TLS filter; `nil` for plaintext.
    init(server: MemcachedConfiguration.Server, index: Int, configuration: MemcachedConfiguration, group: EventLoopGroup,
         transport: (any TransportFactory)?, faults: ConnectionFaults, onFailure: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.index = index
        let health = ServerHealth(backoff: Backoff(initial: configuration.reconnectDelay, maximum: configuration.maxReconnectDelay))
        self.health = health
        let connector = MemcachedConnector(server: server, configuration: configuration,
                                           transport: server.isUnixSocket ? nil : transport, faults: faults)
        self.slots = (0..<configuration.connectionsPerServer).map { slot in
            ConnectionSlot(factory: connector, loop: group.loop(for: index + slot), label: .memcached(at: server.description),
                           health: health, onFailure: onFailure)
        }
    }

    /// An open connection, preferring one that is already open; connects when none is.
    ///
    /// With a `key`, always that key's own connection (by a hash of the key). The server runs
    /// one connection's commands in order, so a command whose caller was cancelled or gave up
    /// still runs before any later command on the same key. Spread over several connections,
    /// a cancelled `set` could reach the server after the next, acknowledged `set` of the same
    /// session and undo it.
    ///
    /// - Throws: `SessionError`.
    func connection(deadline: Deadline, key: [UInt8]? = nil) async throws -> MemcachedConnection {
        do {
            return try await acquire(deadline: deadline, key: key)
        } catch let error as NetworkError {
            throw SessionError(error)
        }
    }

    private func acquire(deadline: Deadline, key: [UInt8]?) async throws -> MemcachedConnection {
        let count = slots.count
        if let key, count > 1 {
            // FNV-1a.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return try await slots[Int(hash % UInt64(count))].acquire(deadline: deadline)
        }
        let start = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        for offset in 0..<count {
            if let ready = slots[(start + offset) % count].readyConnection() { return ready }
        }
        return try await slots[start % count].acquire(deadline: deadline)
    }

    /// The open connections (for tests and diagnostics).
    var openConnections: [MemcachedConnection] { slots.compactMap { $0.readyConnection() } }

    func shutDown() {
        for slot in slots { slot.shutDown() }
    }
}
