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
