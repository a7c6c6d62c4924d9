/// The reply order of a connection: a first-in, first-out queue of request IDs.
struct RequestQueue: Sendable {
    private var storage: [UInt64] = []
    private var head = 0

    var count: Int { storage.count - head }

    mutating func append(_ id: UInt64) { storage.append(id) }

    mutating func popFirst() -> UInt64? {
        guard head < storage.count else { return nil }
        let id = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 65536)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return id
    }

    /// Removes `id` wherever it is (used only by the test-only broken mode).
    mutating func remove(_ id: UInt64) {
        if let index = storage[head...].firstIndex(of: id) { storage.remove(at: index) }
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}

/// The pending commands' deadlines, earliest first. Commands mostly arrive in deadline order, so
/// inserting walks back from the end a step or two at most in practice.
struct DeadlineQueue: Sendable {
    private var storage: [(deadline: UInt64, id: UInt64)] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: (deadline: UInt64, id: UInt64)? { head < storage.count ? storage[head] : nil }

    mutating func insert(deadline: UInt64, id: UInt64) {
        storage.append((deadline, id))
        var index = storage.count - 1
        while index > head && storage[index - 1].deadline > deadline {
            storage.swapAt(index - 1, index)
            index -= 1
        }
    }

    mutating func removeFirst() {
        guard head < storage.count else { return }
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 65536)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
