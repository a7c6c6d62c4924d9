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
