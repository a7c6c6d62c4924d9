import Synchronization

/// The shards of an ``InMemorySessionStore``, in memory the store allocates once and frees in
/// its `deinit`.
///
/// Reaching a shard is pointer arithmetic: no object is retained and released on every
/// request, which with several cores would pass the shared object's reference count (its
/// cache line) back and forth between them. The memory is only read and written through each
/// shard's lock, hence `@unchecked Sendable`.
struct ShardTable: @unchecked Sendable {
    struct Slot: ~Copyable {
        let lock: Mutex<LRUShard>
        /// Keeps the next shard's lock and fields off this shard's last cache line, so that
        /// two cores working on neighbouring shards do not pass one line back and forth.
        let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// One shard; valid while its store is alive.
    struct Shard {
        let slot: UnsafeMutablePointer<Slot>

        @inline(__always)
        func withLock<R, E: Error>(_ body: (inout sending LRUShard) throws(E) -> sending R) throws(E) -> sending R {
            try slot.pointee.lock.withLock(body)
        }
    }

    private let base: UnsafeMutablePointer<Slot>
    private let count: Int

    init(count: Int, capacityEach: Int, bytesEach: Int) {
        self.count = count
        base = .allocate(capacity: count)
        for i in 0..<count { (base + i).initialize(to: Slot(lock: Mutex(LRUShard(capacity: capacityEach, maximumBytes: bytesEach)))) }
    }

    @inline(__always)
    subscript(index: Int) -> Shard { Shard(slot: base + index) }

    /// Called once, by the store's `deinit`.
    func free() {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
