#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A session store in the process's memory, with expiry, a capacity bound and a byte budget.
///
/// - Entries expire after their time to live and are never returned after it.
/// - Expired entries are reclaimed without waiting for a read of the same key: writes
///   examine the entries in turn (two per write on average, in runs of 32) and remove the
///   expired ones, and ``sweep()`` removes all.
/// - At most about ``capacity`` entries and ``maximumBytes`` bytes are kept; beyond either
///   bound the least recently used entries are evicted. An entry counts its key, its value
///   and ``entryOverhead`` bytes of bookkeeping, so many small anonymous sessions and a few
///   large ones are bounded alike. The store is split into shards (each with its own lock and
///   its own share of both bounds) so that concurrent requests rarely wait for each other;
///   eviction is least recently used within a shard.
/// - Values larger than ``maximumValueBytes`` are refused with a `valueTooLarge` error, and
///   the previous value stays.
///
/// Sessions are lost when the process exits; use it for development, tests and single-process
/// deployments.
public final class InMemorySessionStore: VersionedSessionStore, ImmediateSessionStore {
    /// The most entries kept (approximately, see the type's documentation).
    public let capacity: Int
    /// The largest value accepted, in bytes.
    public let maximumValueBytes: Int
    /// The most bytes kept (keys, values and ``entryOverhead`` per entry), approximately:
    /// each shard keeps its share.
    public let maximumBytes: Int
    /// The bytes of bookkeeping counted for each entry besides its key and value.
    public static let entryOverhead = 96
    /// The default byte budget: an eighth of the machine's physical memory, at least 64 MiB
    /// and at most 4 GiB.
    public static var defaultMaximumBytes: Int {
        let pages = Int(sysconf(Int32(_SC_PHYS_PAGES)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let physical = pages > 0 && pageSize > 0 ? pages.multipliedReportingOverflow(by: pageSize).partialValue : 0
        return min(max(physical / 8, 64 << 20), 4 << 30)
    }
    let clock: SessionClock
    let shards: ShardTable
    let shardMask: Int

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - capacity: the most sessions kept before the least recently used are evicted
    ///     (default 1,000,000: about 450 MB for sessions of 200 bytes).
    ///   - maximumBytes: the most bytes kept, keys, values and ``entryOverhead`` per entry
    ///     counted (default ``defaultMaximumBytes``); at least `maximumValueBytes`.
    ///   - maximumValueBytes: the largest session accepted, in bytes (default 1 MiB).
    ///   - clock: the clock that times expiry.
    public init(
        capacity: Int = 1_000_000, maximumBytes: Int = InMemorySessionStore.defaultMaximumBytes, maximumValueBytes: Int = 1 << 20,
        clock: SessionClock = .system
    ) {
        precondition(capacity > 0 && capacity <= 1 << 40, "capacity must be positive and at most 2^40")
        precondition(maximumValueBytes > 0, "maximumValueBytes must be positive")
        precondition(maximumBytes >= maximumValueBytes, "maximumBytes must be at least maximumValueBytes")
        self.capacity = capacity
        self.maximumValueBytes = maximumValueBytes
        self.maximumBytes = maximumBytes
        self.clock = clock
        // Small stores use one shard so that eviction is exactly least-recently-used.
        let shardCount = capacity < 4096 || maximumBytes < 64 << 20 ? 1 : 16
        let perShard = (capacity + shardCount - 1) / shardCount
        self.shards = ShardTable(count: shardCount, capacityEach: perShard, bytesEach: (maximumBytes + shardCount - 1) / shardCount)
        self.shardMask = shardCount - 1
    }

    deinit { shards.free() }

    /// Picks a shard from the last bytes of the key: session IDs are random, so they spread
    /// evenly without hashing the whole key twice.
    @inline(__always)
    func shard(for key: String) -> ShardTable.Shard {
        if shardMask == 0 { return shards[0] }
        var mix: UInt32 = 2_166_136_261
        var count = 0
        for byte in key.utf8.reversed() {
            mix = (mix ^ UInt32(byte)) &* 16_777_619
            count += 1
            if count == 8 { break }
        }
        return shards[Int(mix >> 16) & shardMask]
    }

    nonisolated(nonsending) public func load(key: String) async throws -> [UInt8]? {
        loadNow(key: key, touchTTL: nil)
    }

    nonisolated(nonsending) public func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? {
        loadNow(key: key, touchTTL: ttl)
    }

    nonisolated(nonsending) public func save(key: String, value: [UInt8], ttl: Int?) async throws {
        try saveNow(key: key, value: value, ttl: ttl, hint: -1, now: clock.now())
    }

    /// ``load(key:)`` (or ``loadAndTouch(key:ttl:)`` when `touchTTL` is given) without the
    /// asynchronous call.
    func loadNow(key: String, touchTTL: Int?) -> [UInt8]? {
        var hint: Int32 = -1
        return loadNow(key: key, touchTTL: touchTTL, hint: &hint, now: clock.now())
    }

    /// ``loadNow(key:touchTTL:)`` at a time the caller read from this store's clock; `hint`
    /// is set to the entry's slot in its shard, which a following write of the key uses to
    /// skip the lookup.
    func loadNow(key: String, touchTTL: Int?, hint: inout Int32, now: Double) -> [UInt8]? {
        let newExpiry = touchTTL.map { now + Double($0) }
        return shard(for: key).withLock { $0.get(key, now: now, newExpiry: newExpiry, slot: &hint) }
    }

    /// ``save(key:value:ttl:)`` without the asynchronous call, at a time the caller read from
    /// this store's clock.
    ///
    /// - Parameter hint: the slot ``loadNow(key:touchTTL:hint:now:)`` gave for `key`, or -1. A
    ///   slot that no longer holds `key` is ignored.
    func saveNow(key: String, value: [UInt8], ttl: Int?, hint: Int32, now: Double) throws(SessionError) {
        try checkSize(value)
        let expires = ttl.map { now + Double($0) } ?? .infinity
        shard(for: key).withLock { _ = $0.set(key, value: value, expires: expires, now: now, slot: hint) }
    }

    /// ``replace(key:value:ttl:)`` without the asynchronous call, at a time the caller read
    /// from this store's clock; `hint` as for ``saveNow(key:value:ttl:hint:now:)``.
    func replaceNow(key: String, value: [UInt8], ttl: Int?, hint: Int32, now: Double) throws(SessionError) -> Bool {
        try checkSize(value)
        let expires = ttl.map { now + Double($0) } ?? .infinity
        return shard(for: key).withLock { $0.set(key, value: value, expires: expires, now: now, slot: hint, onlyIfLive: true) }
    }

    nonisolated(nonsending) public func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try replaceNow(key: key, value: value, ttl: ttl, hint: -1, now: clock.now())
    }

    nonisolated(nonsending) public func create(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try checkSize(value)
        let now = clock.now()
        let expires = ttl.map { now + Double($0) } ?? .infinity
        return shard(for: key).withLock { shard in
            guard shard.get(key, now: now, newExpiry: nil) == nil else { return false }
            return shard.set(key, value: value, expires: expires, now: now)
        }
    }

    /// Runs `body` on the live value of `key` (`nil` when there is none) in one step under
    /// the shard's lock, then stores what `body` left (`nil` deletes the entry).
    func updateNow<R>(key: String, ttl: Int?, _ body: (inout [UInt8]?) -> R) -> R {
        let now = clock.now()
        let expires = ttl.map { now + Double($0) } ?? .infinity
        return shard(for: key).withLock { shard in
            var value = shard.get(key, now: now, newExpiry: nil)
            let result = body(&value)
            if let value {
                shard.set(key, value: value, expires: expires, now: now)
            } else {
                shard.remove(key)
            }
            return result
        }
    }

    private func checkSize(_ value: [UInt8]) throws(SessionError) {
        guard value.count <= maximumValueBytes else {
            throw SessionError(
                .valueTooLarge,
                "a session of \(value.count) bytes is over the in-memory store's limit of \(maximumValueBytes) bytes; store less in the session or raise maximumValueBytes")
        }
    }

    nonisolated(nonsending) public func delete(key: String) async throws {
        deleteNow(key: key)
    }

    /// ``delete(key:)`` without the asynchronous call.
    func deleteNow(key: String) {
        shard(for: key).withLock { $0.remove(key) }
    }

    nonisolated(nonsending) public func touch(key: String, ttl: Int?) async throws -> Bool {
        let now = clock.now()
        let expires = ttl.map { now + Double($0) } ?? .infinity
        return shard(for: key).withLock { $0.get(key, now: now, newExpiry: expires) != nil }
    }

    nonisolated(nonsending) public func loadVersioned(key: String) async throws -> (value: [UInt8], version: SessionStoreVersion)? {
        let now = clock.now()
        return shard(for: key).withLock { shard in
            shard.get(key, now: now, newExpiry: nil).map { ($0, SessionStoreVersion(token: shard.version(of: key))) }
        }
    }

    nonisolated(nonsending) public func save(
        key: String, value: [UInt8], ttl: Int?, ifVersion version: SessionStoreVersion
    ) async throws -> Bool {
        try checkSize(value)
        let now = clock.now()
        let expires = ttl.map { now + Double($0) } ?? .infinity
        return shard(for: key).withLock { shard in
            guard shard.get(key, now: now, newExpiry: nil) != nil, shard.version(of: key) == version.token else { return false }
            return shard.set(key, value: value, expires: expires, now: now)
        }
    }

    /// The number of entries held, expired ones not yet reclaimed included.
    public var count: Int {
        (0...shardMask).reduce(0) { total, i in total + shards[i].withLock { $0.index.count } }
    }

    /// The bytes held (keys, values and ``entryOverhead`` per entry), expired entries not yet
    /// reclaimed included.
    public var bytes: Int {
        (0...shardMask).reduce(0) { total, i in total + shards[i].withLock { $0.bytes } }
    }

    /// Removes every expired entry now.
    ///
    /// - Returns: the number of entries removed.
    @discardableResult
    public func sweep() -> Int {
        let now = clock.now()
        return (0...shardMask).reduce(0) { total, i in total + shards[i].withLock { $0.sweepAll(now: now) } }
    }
}

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

/// One shard: a dictionary into a slab of nodes that form a doubly linked list in
/// recency order (head = most recently used).
struct LRUShard {
    struct Node {
        var key: String
        var value: [UInt8]
        var expires: Double
        var prev: Int32
        var next: Int32
        var version: UInt64 = 0
    }

    /// Entries examined for expiry per write, on average.
    static let sweepStep = 2
    /// Entries examined at once: every `sweepBatch / sweepStep` writes, one run of adjacent
    /// slots, which the processor reads ahead, instead of two scattered slots per write.
    static let sweepBatch = 32

    let capacity: Int
    /// The most bytes this shard keeps (see ``cost(key:value:)``).
    let maximumBytes: Int
    /// The bytes held: the sum of the entries' costs.
    var bytes = 0
    var index: [String: Int32] = [:]
    var nodes: [Node] = []
    var free: [Int32] = []
    var head: Int32 = -1
    var tail: Int32 = -1
    var cursor = 0
    /// Writes since the last sweep.
    var writesSinceSweep = 0
    /// Counts writes, so that every stored value has a distinct version.
    var writes: UInt64 = 0

    init(capacity: Int, maximumBytes: Int) {
        self.capacity = capacity
        self.maximumBytes = maximumBytes
    }

    /// What an entry counts against the byte budget.
    @inline(__always)
    static func cost(key: String, value: [UInt8]) -> Int {
        key.utf8.count + value.count + InMemorySessionStore.entryOverhead
    }

    mutating func unlink(_ i: Int32) {
        // The two links only: copying the node would retain its key and value.
        let prev = nodes[Int(i)].prev
        let next = nodes[Int(i)].next
        if prev >= 0 { nodes[Int(prev)].next = next } else { head = next }
        if next >= 0 { nodes[Int(next)].prev = prev } else { tail = prev }
    }

    mutating func pushFront(_ i: Int32) {
        nodes[Int(i)].prev = -1
        nodes[Int(i)].next = head
        if head >= 0 { nodes[Int(head)].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    mutating func release(_ i: Int32) {
        unlink(i)
        bytes -= Self.cost(key: nodes[Int(i)].key, value: nodes[Int(i)].value)
        index.removeValue(forKey: nodes[Int(i)].key)
        nodes[Int(i)].key = ""
        nodes[Int(i)].value = []
        nodes[Int(i)].expires = -.infinity
        free.append(i)
    }

    /// Returns the live value for `key`, marking it most recently used and optionally
    /// setting a new expiry; an expired entry is removed and `nil` returned.
    mutating func get(_ key: String, now: Double, newExpiry: Double?) -> [UInt8]? {
        var slot: Int32 = -1
        return get(key, now: now, newExpiry: newExpiry, slot: &slot)
    }

    /// ``get(_:now:newExpiry:)`` that also gives the entry's slot.
    mutating func get(_ key: String, now: Double, newExpiry: Double?, slot: inout Int32) -> [UInt8]? {
        guard let i = index[key] else { return nil }
        slot = i
        if nodes[Int(i)].expires <= now {
            release(i)
            return nil
        }
        if let newExpiry { nodes[Int(i)].expires = newExpiry }
        if head != i {
            unlink(i)
            pushFront(i)
        }
        return nodes[Int(i)].value
    }

    func version(of key: String) -> UInt64 {
        index[key].map { nodes[Int($0)].version } ?? 0
    }

    /// The slot of `key` when `hint` is that slot: a live slot holds the key it is indexed
    /// under (released slots hold an empty key and are never indexed), so checking the key
    /// is enough, and cheaper than hashing it.
    func slot(of key: String, hint: Int32) -> Int32? {
        guard hint >= 0, Int(hint) < nodes.count, nodes[Int(hint)].expires > -.infinity, nodes[Int(hint)].key == key
        else { return nil }
        return hint
    }

    /// Stores `value` under `key`; with `onlyIfLive`, only over a live entry.
    ///
    /// - Returns: whether it stored the value.
    @discardableResult
    mutating func set(
        _ key: String, value: [UInt8], expires: Double, now: Double, slot hint: Int32 = -1, onlyIfLive: Bool = false
    ) -> Bool {
        if let i = slot(of: key, hint: hint) ?? index[key] {
            if onlyIfLive && nodes[Int(i)].expires <= now {
                release(i)
                return false
            }
            writes &+= 1
            bytes += value.count - nodes[Int(i)].value.count
            nodes[Int(i)].value = value
            nodes[Int(i)].expires = expires
            nodes[Int(i)].version = writes
            if head != i {
                unlink(i)
                pushFront(i)
            }
            evict(keeping: i)
        } else {
            if onlyIfLive { return false }
            writes &+= 1
            let i: Int32
            if let reused = free.popLast() {
                i = reused
                nodes[Int(i)] = Node(key: key, value: value, expires: expires, prev: -1, next: -1, version: writes)
            } else {
                i = Int32(nodes.count)
                nodes.append(Node(key: key, value: value, expires: expires, prev: -1, next: -1, version: writes))
            }
            index[key] = i
            bytes += Self.cost(key: key, value: value)
            pushFront(i)
            evict(keeping: i)
        }
        sweepSome(now: now)
        return true
    }

    /// Evicts least recently used entries until both bounds hold, never the entry just
    /// written (`keeping`), which is the most recently used.
    @inline(__always)
    mutating func evict(keeping i: Int32) {
        while index.count > capacity || bytes > maximumBytes, tail >= 0, tail != i { release(tail) }
    }

    mutating func remove(_ key: String) {
        if let i = index[key] { release(i) }
    }

    /// Examines a few slab slots after the cursor and reclaims expired entries, so that
    /// abandoned sessions do not wait for a read of their own key.
    mutating func sweepSome(now: Double) {
        writesSinceSweep &+= 1
        guard writesSinceSweep >= Self.sweepBatch / Self.sweepStep, !nodes.isEmpty else { return }
        writesSinceSweep = 0
        for _ in 0..<Self.sweepBatch {
            if cursor >= nodes.count { cursor = 0 }
            let i = Int32(cursor)
            cursor += 1
            // Free slots have expires == -infinity and an empty key; skip them.
            if nodes[Int(i)].expires <= now && nodes[Int(i)].expires > -.infinity { release(i) }
        }
    }

    mutating func sweepAll(now: Double) -> Int {
        var removed = 0
        for i in 0..<nodes.count where nodes[i].expires <= now && nodes[i].expires > -.infinity {
            release(Int32(i))
            removed += 1
        }
        return removed
    }
}

/// The store-backed interface over an ``InMemorySessionStore``: sanic_session's
/// `InMemorySessionInterface`.
///
/// ```swift
/// let interface = try InMemorySessionInterface(configuration: .default)
/// ```
public typealias InMemorySessionInterface = StoreSessionInterface<InMemorySessionStore>

extension StoreSessionInterface where Store == InMemorySessionStore {
    /// Creates an interface with its own in-memory store.
    ///
    /// - Parameters:
    ///   - configuration: the cookie and lifetime options.
    ///   - capacity: the most sessions kept (see ``InMemorySessionStore/init(capacity:maximumBytes:maximumValueBytes:clock:)``).
    ///   - maximumBytes: the most bytes kept (see ``InMemorySessionStore/maximumBytes``).
    ///   - clock: the clock for expiry and cookie dates.
    public init(
        configuration: SessionConfiguration = .default, capacity: Int = 1_000_000,
        maximumBytes: Int = InMemorySessionStore.defaultMaximumBytes, clock: SessionClock = .system
    ) throws {
        try self.init(
            store: InMemorySessionStore(capacity: capacity, maximumBytes: maximumBytes, clock: clock), configuration: configuration,
            clock: clock)
    }
}
