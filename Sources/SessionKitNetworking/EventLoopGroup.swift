import Synchronization

/// The event loops a client spreads its connections over: connection `i` runs on loop
/// `i % count`, so that one I/O thread does not cap a large machine.
///
/// Loops are process-wide and never stopped: ``shared(count:)`` hands out the first `count` of
/// one pool (the first is ``EventLoop/shared``), so every client asking for two loops uses the
/// same two threads.
package struct EventLoopGroup: Sendable {
    /// The loops, at least one.
    package let loops: [EventLoop]

    /// A group of the given loops.
    package init(_ loops: [EventLoop]) {
        precondition(!loops.isEmpty, "an event loop group needs a loop")
        self.loops = loops
    }

    /// The most loops a client may ask for.
    package static let maximumCount = 64

    private static let pool = Mutex<[EventLoop]>([])

    /// The first `count` loops of the process-wide pool, started on first use.
    package static func shared(count: Int) -> EventLoopGroup {
        let count = min(max(count, 1), maximumCount)
        let loops = pool.withLock { pool -> [EventLoop] in
            if pool.isEmpty { pool.append(.shared) }
            while pool.count < count { pool.append(EventLoop(name: "SessionKit I/O \(pool.count + 1)")) }
            return Array(pool.prefix(count))
        }
        return EventLoopGroup(loops)
    }

    /// The loop of the connection at `index`.
    package func loop(for index: Int) -> EventLoop { loops[index % loops.count] }
}
