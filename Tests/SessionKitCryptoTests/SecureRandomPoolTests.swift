import Dispatch
import Synchronization
import Testing

@testable import SessionKitCrypto

/// A source that writes a running count of 64-bit little-endian words, so that every word it
/// ever produced is distinct and tells where in its output it came from.
final class CountingSource: Sendable {
    private let state = Mutex<(next: UInt64, calls: Int, failOn: Set<Int>)>((0, 0, []))

    init(failOn calls: Set<Int> = []) {
        state.withLock { $0.failOn = calls }
    }

    var calls: Int { state.withLock { $0.calls } }

    /// Fills `buffer` (a multiple of 8 bytes) with the next words; the calls numbered in
    /// `failOn` (from 1) write 0xAA bytes and throw instead, as a refill that failed halfway.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SecureRandomError) {
        let failed: Bool = state.withLock { state in
            state.calls += 1
            if state.failOn.contains(state.calls) { return true }
            for i in 0..<(buffer.count / 8) {
                buffer.storeBytes(of: state.next.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                state.next += 1
            }
            return false
        }
        if failed {
            UnsafeMutableRawBufferPointer(rebasing: buffer[..<(buffer.count / 2)]).initializeMemory(as: UInt8.self, repeating: 0xAA)
            throw SecureRandomError(errno: 5)
        }
    }

    var pool: SecureRandomPool { SecureRandomPool(source: { buffer throws(SecureRandomError) in try self.fill(buffer) }) }
}

/// The little-endian words of `bytes`.
func words(_ bytes: [UInt8]) -> [UInt64] {
    bytes.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)) } }
}

func draw(_ pool: SecureRandomPool, _ count: Int = 32) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    try bytes.withUnsafeMutableBytes { try pool.fill($0) }
    return bytes
}

// Serialized: the fork test signals a fork to every pool in the process, which makes the
// concurrent test's pool skip the rest of its buffer.
@Suite("Buffered secure random bytes", .serialized)
struct SecureRandomPoolTests {
    static let wordsPerRefill = UInt64(SecureRandomPool.capacity / 8)

    @Test("Draws hand out the source's bytes in order, each once, one refill per 4 KiB")
    func drawsFollowTheSource() throws {
        let source = CountingSource()
        let pool = source.pool
        var seen: [UInt64] = []
        for _ in 0..<300 { seen += words(try draw(pool)) }
        #expect(seen == Array(0..<1200))
        #expect(source.calls == 3)
    }

    @Test("A draw that does not fit the rest of the buffer starts the next refill; no byte is handed out twice")
    func drawsThatDoNotFitSkipTheRest() throws {
        let source = CountingSource()
        let pool = source.pool
        // The model: a draw takes the next unused words of the current refill, or, when too
        // few are left, the first words of the next one.
        var next: UInt64 = 0
        var refillEnd: UInt64 = 0
        for size in [8, 256, 40, 24, 200] + Array(repeating: 256, count: 16) + [8, 32] {
            let wanted = UInt64(size / 8)
            if refillEnd - next < wanted {
                next = refillEnd
                refillEnd += Self.wordsPerRefill
            }
            #expect(words(try draw(pool, size)) == Array(next..<(next + wanted)), "a \(size)-byte draw")
            next += wanted
        }
        #expect(source.calls == 2)
    }

    @Test("Draws of other sizes never repeat a byte of the source", arguments: [1, 7, 31, 33, 255])
    func oddSizes(size: Int) throws {
        // Bytes of the counting source are not unique, but their positions are: each draw
        // must be the run of the source's output that the model above gives.
        let source = CountingSource()
        let pool = source.pool
        let stream: [UInt8] = (0..<(30 * Self.wordsPerRefill)).flatMap { word in withUnsafeBytes(of: word.littleEndian) { Array($0) } }
        var next = 0
        var refillEnd = 0
        for _ in 0..<400 {
            if refillEnd - next < size {
                next = refillEnd
                refillEnd += SecureRandomPool.capacity
            }
            let got = try draw(pool, size)
            guard Array(stream[next..<(next + size)]) == got else {
                Issue.record("draw of \(size) bytes at source byte \(next): got \(got), wanted \(Array(stream[next..<(next + size)]))")
                return
            }
            next += size
        }
        #expect(source.calls == refillEnd / SecureRandomPool.capacity)
    }

    @Test("A failed refill throws the source's error, writes nothing, and the next draw refills")
    func failedRefill() throws {
        let source = CountingSource(failOn: [2])
        let pool = source.pool
        for _ in 0..<128 { _ = try draw(pool) }
        var bytes = [UInt8](repeating: 0x55, count: 32)
        #expect(throws: SecureRandomError(errno: 5)) { try bytes.withUnsafeMutableBytes { try pool.fill($0) } }
        #expect(bytes == [UInt8](repeating: 0x55, count: 32), "a failed draw wrote into the caller's buffer")
        // The failed call's half-written 0xAA bytes are never handed out: the next draw is the
        // start of the next refill.
        #expect(words(try draw(pool)) == Array(512..<516))
        #expect(source.calls == 3)
    }

    @Test("Draws over 256 bytes go to the source and leave the buffer as it was")
    func largeDraws() throws {
        let source = CountingSource()
        let pool = source.pool
        #expect(words(try draw(pool)) == [0, 1, 2, 3])
        let large = words(try draw(pool, 264))
        #expect(large == Array(512..<545))
        #expect(words(try draw(pool)) == [4, 5, 6, 7])
        #expect(try draw(pool, 0).isEmpty)
        #expect(source.calls == 2)
    }

    @Test("After a fork the buffered bytes are discarded, not handed out")
    func forkDiscardsTheBuffer() throws {
        let source = CountingSource()
        let pool = source.pool
        #expect(words(try draw(pool)) == [0, 1, 2, 3])
        // What the pthread_atfork child handler calls in a child process.
        SecureRandomPool.processDidFork()
        #expect(words(try draw(pool)) == [512, 513, 514, 515])
        #expect(words(try draw(pool)) == [516, 517, 518, 519])
        #expect(source.calls == 2)
    }

    @Test("Concurrent draws share no bytes and lose none")
    func concurrentDraws() throws {
        let source = CountingSource()
        let pool = source.pool
        let threads = 4
        let draws = 2000
        let results = Mutex<[[UInt64]]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var mine: [UInt64] = []
            for _ in 0..<draws {
                let got = words((try? draw(pool)) ?? [])
                // One draw is four consecutive words of one refill.
                if got.count != 4 || got != Array(got[0]..<(got[0] + 4)) { mine.append(UInt64.max) }
                mine += got
            }
            results.withLock { $0.append(mine) }
        }
        let all = results.withLock { $0 }.flatMap { $0 }
        #expect(!all.contains(UInt64.max), "a draw was not four consecutive words")
        // As many distinct words as drawn, none past the count: exactly the words 0..<count.
        let count = threads * draws * 4
        #expect(all.count == count)
        #expect(Set(all).count == count)
        #expect(all.max() == UInt64(count - 1))
    }

    @Test("The shared pool gives distinct values across threads")
    func sharedPoolAcrossThreads() throws {
        let threads = 4
        let draws = 5000
        let results = Mutex<[[UInt8]]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var mine: [[UInt8]] = []
            for _ in 0..<draws { mine.append((try? draw(SecureRandomPool.shared)) ?? []) }
            results.withLock { $0 += mine }
        }
        let all = results.withLock { $0 }
        #expect(all.count == threads * draws)
        #expect(all.allSatisfy { $0.count == 32 && $0 != [UInt8](repeating: 0, count: 32) })
        #expect(Set(all).count == all.count)
    }
}
