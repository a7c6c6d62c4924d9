extension JSON {
    /// Values parsed but not yet placed in their array or object, kept on one stack for the
    /// whole document so that every array and dictionary is created once at its final size.
    struct PendingValues: ~Copyable {
        private var base: UnsafeMutablePointer<(String, SessionValue)>?
        private(set) var count = 0
        private var capacity = 0
        /// False while the values are in the caller's scratch space.
        private var ownsMemory = true

        init() {}

        /// Starts in `scratch` (uninitialized memory the caller keeps alive for the stack's
        /// lifetime), moving to the heap only if more values are pending at once.
        init(scratch: UnsafeMutableBufferPointer<(String, SessionValue)>) {
            base = scratch.baseAddress
            capacity = scratch.count
            ownsMemory = false
        }

        deinit {
            if let base {
                base.deinitialize(count: count)
                if ownsMemory { base.deallocate() }
            }
        }

        @inline(__always)
        mutating func push(_ key: String, _ value: SessionValue) {
            if count == capacity { grow() }
            (base.unsafelyUnwrapped + count).initialize(to: (key, value))
            count &+= 1
        }

        @inline(never)
        private mutating func grow() {
            let newCapacity = Swift.max(16, capacity * 2)
            let newBase = UnsafeMutablePointer<(String, SessionValue)>.allocate(capacity: newCapacity)
            if let base {
                newBase.moveInitialize(from: base, count: count)
                if ownsMemory { base.deallocate() }
            }
            base = newBase
            capacity = newCapacity
            ownsMemory = true
        }

        /// Removes the entries from `start` on and returns them as an object; a repeated key
        /// keeps its last value.
        mutating func popObject(from start: Int) -> [String: SessionValue] {
            // Nothing pushed: an object whose only members were taken out (stored sessions'
            // creation time), possibly before anything was ever pushed.
            guard count > start else { return [:] }
            let base = self.base.unsafelyUnwrapped
            // Sized from the entry count up front. (This initializer is specialized here;
            // `init(minimumCapacity:)` and `reserveCapacity` look up the storage type at run
            // time on every call.)
            let object = [String: SessionValue](MovingEntries(cursor: base + start, end: base + count)) { _, last in last }
            count = start
            return object
        }

        /// Moves entries out of the stack, in order.
        struct MovingEntries: Sequence, IteratorProtocol {
            var cursor: UnsafeMutablePointer<(String, SessionValue)>
            let end: UnsafeMutablePointer<(String, SessionValue)>

            var underestimatedCount: Int { end - cursor }

            mutating func next() -> (String, SessionValue)? {
                guard cursor < end else { return nil }
                defer { cursor += 1 }
                return cursor.move()
            }
        }

        /// Removes the entries from `start` on and returns their values as an array.
        mutating func popArray(from start: Int) -> [SessionValue] {
            let base = self.base.unsafelyUnwrapped
            let n = count &- start
            // (`reserveCapacity` is specialized here; `init(unsafeUninitializedCapacity:)`
            // looks up the storage type at run time on every call.)
            var items: [SessionValue] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append((base + start + i).move().1) }
            count = start
            return items
        }
    }
}
