import SessionKit
import SessionKitNetworking
import Synchronization

/// One server of the client: its connections and its health.
final class MemcachedServerNode: Sendable {
    let server: MemcachedConfiguration.Server
    let index: Int
    let health: MemcachedServerHealth
    private let slots: [MemcachedConnectionSlot]
    private let nextSlot = Atomic<Int>(0)

    init(server: MemcachedConfiguration.Server, index: Int, configuration: MemcachedConfiguration, loop: EventLoop,
         freesCancelledSlots: Bool, onFailure: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.index = index
        let health = MemcachedServerHealth(backoff: Backoff(initial: configuration.reconnectDelay, maximum: configuration.maxReconnectDelay))
        self.health = health
        self.slots = (0..<configuration.connectionsPerServer).map { _ in
            MemcachedConnectionSlot(server: server, configuration: configuration, loop: loop, health: health,
                                    freesCancelledSlots: freesCancelledSlots, onFailure: onFailure)
        }
    }

    /// An open connection, preferring one that is already open; connects when none is.
    func connection(deadline: Deadline) async throws -> MemcachedConnection {
        let count = slots.count
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
