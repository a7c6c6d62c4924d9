/// A binary min-heap of timers by deadline; cancelled timers are dropped when they surface or
/// when they outnumber the live ones.
struct TimerHeap {
    private var entries: [(deadline: UInt64, seq: UInt64, timer: EventLoop.Timer)] = []
    private var sequence: UInt64 = 0

    var nextDeadline: UInt64? { entries.first?.deadline }
    var count: Int { entries.count }

    mutating func insert(deadline: UInt64, timer: EventLoop.Timer) {
        sequence &+= 1
        entries.append((deadline, sequence, timer))
        siftUp(entries.count - 1)
        if entries.count >= 1024 && entries.count.isMultiple(of: 1024) { compactIfMostlyCancelled() }
    }

    mutating func popDue(now: UInt64) -> [EventLoop.Timer] {
        var due: [EventLoop.Timer] = []
        while let first = entries.first, first.deadline <= now {
            due.append(first.timer)
            removeFirst()
        }
        return due
    }

    private mutating func compactIfMostlyCancelled() {
        let live = entries.filter { $0.timer.isPending }
        guard live.count * 2 < entries.count else { return }
        entries = live
        // Heapify.
        if entries.count > 1 {
            for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
        }
    }

    private mutating func removeFirst() {
        entries.swapAt(0, entries.count - 1)
        entries.removeLast()
        if !entries.isEmpty { siftDown(0) }
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        entries[a].deadline < entries[b].deadline
            || (entries[a].deadline == entries[b].deadline && entries[a].seq < entries[b].seq)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && less(left, smallest) { smallest = left }
            if right < entries.count && less(right, smallest) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
