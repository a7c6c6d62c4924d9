import Foundation
@testable import SessionKit
import SessionKitTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("FilesystemIOPool")
struct FilesystemIOPoolTests {
    @Test func withNoThreadAvailableOperationsFailWithAClearError() async throws {
        let pool = FilesystemIOPool(maximumThreads: 4, threadStarts: .refusedAfter(0))
        defer { pool.shutdown() }
        for _ in 0..<3 {
            let error = await #expect(throws: SessionError.self) { _ = try await pool.run { () throws(SessionError) in 42 } }
            #expect(error?.code == .storeFailure)
            #expect(error?.message.contains("thread") == true, "\(error?.message ?? "")")
        }
        #expect(pool.threadCounts.running == 0)
    }

    @Test func itCarriesOnWithTheThreadsItCouldStart() async throws {
        let pool = FilesystemIOPool(maximumThreads: 8, threadStarts: .refusedAfter(2))
        defer { pool.shutdown() }
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<200 { group.addTask { try await pool.run { () throws(SessionError) in Pace.block(.microseconds(100)); return i } } }
            return try await group.reduce(0, +)
        }
        #expect(sum == (0..<200).reduce(0, +))
        #expect((1...2).contains(pool.threadCounts.running))
    }

    @Test func theStoreReportsAPoolWithoutThreads() async throws {
        let dir = try FilesystemTestDirectory()
        defer { dir.remove() }
        let store = try FilesystemSessionStore(directory: dir.path)
        // Syncing saves need the pool; a store whose pool cannot start threads fails them cleanly.
        let pool = FilesystemIOPool(maximumThreads: 2, threadStarts: .refusedAfter(0))
        defer { pool.shutdown() }
        let error = await #expect(throws: SessionError.self) {
            _ = try await pool.run { () throws(SessionError) in try store.writeAtomically(name: try store.fileName(forKey: "k"), key: Array("k".utf8), contents: [1], lockHeld: false) }
        }
        #expect(error?.code == .storeFailure)
        #expect(dir.sessionFiles().isEmpty)
    }

    /// Four jobs queued at once on a pool with one idle thread: each waits at a barrier
    /// (bounded) until all four run at the same time, which needs four threads.
    @Test func aBurstStartsThreadsUpToTheLimit() async throws {
        let pool = FilesystemIOPool(maximumThreads: 4)
        defer { pool.shutdown() }
        _ = try await pool.run { () throws(SessionError) in 0 }
        // The thread that ran the job goes idle once the job's caller resumed: polled (the pool
        // has no notification for it), bounded.
        try await Poll.until("the pool's thread goes idle", every: .milliseconds(5)) { pool.threadCounts.idle >= 1 }
        #expect(pool.threadCounts.running == 1 && pool.threadCounts.idle == 1)
        final class Barrier: @unchecked Sendable {
            let condition = NSCondition()
            var arrived = 0
        }
        let barrier = Barrier()
        let together = Mutex<[Bool]>([])
        let allReported = Latch()
        @Sendable func report(_ all: Bool) {
            if together.withLock({ $0.append(all); return $0.count }) == 4 { allReported.open() }
        }
        for _ in 0..<4 {
            pool.submit(FilesystemIOPool.Job(run: {
                barrier.condition.lock()
                barrier.arrived += 1
                barrier.condition.broadcast()
                let limit = Date().addingTimeInterval(30)
                while barrier.arrived < 4 && barrier.condition.wait(until: limit) {}
                let all = barrier.arrived == 4
                barrier.condition.unlock()
                report(all)
            }, fail: { _ in report(false) }))
        }
        #expect(await allReported.wait(within: .seconds(60)), "the four jobs ended")
        #expect(together.withLock { $0 } == [true, true, true, true], "the four queued jobs ran at the same time")
        #expect(pool.threadCounts.running == 4)
    }
}
