/// A first-in, first-out queue that pops from the front in O(1): the reply order of a
/// connection.
@_spi(Engine) public struct RequestQueue<Element>: Sendable where Element: Sendable {
    @usableFromInline var storage: [Element] = []
    @usableFromInline var head = 0

    @inlinable @_spi(Engine) public init() {}

    @inlinable @_spi(Engine) public var count: Int { storage.count - head }
    @inlinable @_spi(Engine) public var first: Element? { head < storage.count ? storage[head] : nil }

    @inlinable @_spi(Engine) public mutating func append(_ element: Element) { storage.append(element) }

    /// Up to `count` elements, starting `offset` elements after the first.
    @inlinable @_spi(Engine) public func elements(from offset: Int, count: Int) -> ArraySlice<Element> {
        let start = Swift.min(head + offset, storage.count)
        return storage[start..<Swift.min(start + count, storage.count)]
    }

    @inlinable @_spi(Engine) public mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 65536)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes the first element matching `predicate` (used only by injected faults).
    @inlinable @_spi(Engine) public mutating func removeFirst(where predicate: (Element) -> Bool) {
        if let index = storage[head...].firstIndex(where: predicate) { storage.remove(at: index) }
    }

    @inlinable @_spi(Engine) public mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}

/// The pending commands' deadlines, earliest first. Commands mostly arrive in deadline order, so
/// inserting walks back from the end a step or two at most in practice.
@_spi(Engine) public struct DeadlineQueue: Sendable {
    @usableFromInline var storage: [(deadline: UInt64, id: UInt64)] = []
    @usableFromInline var head = 0

    @inlinable @_spi(Engine) public init() {}

    @inlinable @_spi(Engine) public var count: Int { storage.count - head }
    @inlinable @_spi(Engine) public var first: (deadline: UInt64, id: UInt64)? { head < storage.count ? storage[head] : nil }

    @inlinable @_spi(Engine) public mutating func insert(deadline: UInt64, id: UInt64) {
        storage.append((deadline, id))
        var index = storage.count - 1
        while index > head && storage[index - 1].deadline > deadline {
            storage.swapAt(index - 1, index)
            index -= 1
        }
    }

    @inlinable @_spi(Engine) public mutating func removeFirst() {
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

    @inlinable @_spi(Engine) public mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
