import Synchronization

/// The event loops a client spreads its connections over: connection `i` runs on loop
/// `i % count`, so that one I/O thread does not cap a large machine.
///
/// Loops are process-wide and never stopped: ``shared(count:)`` hands out the first `count` of
/// one pool (the first is ``EventLoop/shared``), so every client asking for two loops uses the
/// same two threads.
@_spi(Engine) public struct EventLoopGroup: Sendable {
    /// The loops, at least one.
    @_spi(Engine) public let loops: [EventLoop]

    /// A group of the given loops.
    @_spi(Engine) public init(_ loops: [EventLoop]) {
        precondition(!loops.isEmpty, "an event loop group needs a loop")
        self.loops = loops
    }

    /// The most loops a client may ask for.
    @_spi(Engine) public static let maximumCount = 64

    private static let pool = Mutex<[EventLoop]>([])

    /// The first `count` loops of the process-wide pool, started on first use.
    @_spi(Engine) public static func shared(count: Int) -> EventLoopGroup {
        let count = min(max(count, 1), maximumCount)
        let loops = pool.withLock { pool -> [EventLoop] in
            if pool.isEmpty { pool.append(.shared) }
            while pool.count < count { pool.append(EventLoop(name: "SessionKit I/O \(pool.count + 1)")) }
            return Array(pool.prefix(count))
        }
        return EventLoopGroup(loops)
    }

    /// The loop of the connection at `index`.
    @_spi(Engine) public func loop(for index: Int) -> EventLoop { loops[index % loops.count] }
}
