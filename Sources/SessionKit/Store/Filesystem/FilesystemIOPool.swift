#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small pool of dedicated threads for blocking file system calls (open, write, fsync,
/// rename), so that they never occupy the threads of Swift's cooperative pool.
///
/// Threads start on demand up to ``maximumThreads`` — a new one whenever the queued jobs
/// outnumber the idle threads, so a burst of syncing saves spreads over the pool — and then
/// stay, waiting on a condition variable; jobs run first in, first out. Async callers reach it
/// through ``run(_:)``, which suspends the task (freeing its cooperative thread) until a pool
/// thread has done the work. If the system refuses a new thread, the pool carries on with the
/// threads it has; if it has none, the queued jobs fail with a ``SessionError`` instead.
final class FilesystemIOPool: @unchecked Sendable {
    /// A queued job: `run` on a pool thread, or `fail` when no thread can be started for it.
    struct Job {
        let run: () -> Void
        let fail: (SessionError) -> Void
    }

    /// The most threads the pool starts.
    let maximumThreads: Int
    /// Decides whether a thread may start; the system's answer in production (see
    /// ``ThreadStarts``).
    private let threadStarts: ThreadStarts
    /// A thread-specific key set on the pool's threads.
    static let marker: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// True on a thread of a file I/O pool.
    static var isPoolThread: Bool { pthread_getspecific(marker) != nil }

    // All mutable state below is guarded by `lock`.
    private let lock = ThreadCondition()
    private var jobs: [Job?] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private var started = 0
    private var stopping = false

    /// - Parameters:
    ///   - maximumThreads: the most threads the pool starts.
    ///   - threadStarts: `.system` in production; tests inject a policy that refuses starts.
    init(maximumThreads: Int, threadStarts: ThreadStarts = .system) {
        precondition(maximumThreads > 0, "an I/O pool needs at least one thread")
        self.maximumThreads = maximumThreads
        self.threadStarts = threadStarts
    }

    /// Asks the threads to finish once the queue is empty. Each thread holds the pool, and so
    /// its lock, until it leaves.
    func shutdown() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }

    /// The threads running and the threads idle (for tests and diagnostics).
    var threadCounts: (running: Int, idle: Int) {
        lock.withLock { (threads, idle) }
    }

    /// Queues `job` for a pool thread, starting a new thread (up to the limit) while the queued
    /// jobs outnumber the idle threads.
    func submit(_ job: Job) {
        lock.lock()
        jobs.append(job)
        var start = false
        if jobs.count - head > idle && threads < maximumThreads {
            threads += 1
            start = true
        }
        if idle > 0 { lock.signal() }
        lock.unlock()
        if start { startThread() }
    }

    /// Runs `body` on a pool thread and returns its result to the calling task.
    ///
    /// - Throws: what `body` throws, or `storeFailure` when the system lets the pool start no
    ///   thread at all.
    func run<T>(_ body: @escaping @Sendable () throws(SessionError) -> T) async throws(SessionError) -> T {
        let result: Result<T, SessionError> = await withUnsafeContinuation { continuation in
            submit(Job(run: {
                do throws(SessionError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }, fail: { error in
                continuation.resume(returning: .failure(error))
            }))
        }
        return try result.get()
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        lock.lock()
        var status = threadStarts.refusal(started) ?? 0
        if status == 0 { started += 1 }
        lock.unlock()
        if status == 0 {
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, 512 * 1024)
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            #if canImport(Darwin)
            var thread: pthread_t?
            #else
            var thread = pthread_t()
            #endif
            status = pthread_create(&thread, &attributes, { context in
                let pool = Unmanaged<FilesystemIOPool>.fromOpaque(context!).takeRetainedValue()
                pthread_setspecific(FilesystemIOPool.marker, UnsafeRawPointer(bitPattern: 1))
                pool.work()
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
        }
        guard status != 0 else { return }
        Unmanaged<FilesystemIOPool>.fromOpaque(context).release()
        threadStartFailed(status)
    }

    /// A thread could not be started: carry on with the others, or, when there are none, fail
    /// the queued jobs (nothing would ever run them).
    private func threadStartFailed(_ status: Int32) {
        lock.lock()
        threads -= 1
        var orphans: [Job] = []
        if threads == 0 {
            orphans = jobs[head...].compactMap { $0 }
            jobs.removeAll()
            head = 0
        }
        lock.unlock()
        if !orphans.isEmpty {
            let reason = String(cString: strerror(status))
            let error = SessionError(.storeFailure, "the filesystem session store cannot start a thread for its file I/O (pthread_create: \(reason)); the process is at its thread limit. Raise the limit (ulimit -u, the container's pids limit) or run fewer threads")
            for job in orphans { job.fail(error) }
        }
    }

    private func work() {
        lock.lock()
        while true {
            if head < jobs.count {
                let job = jobs[head]!
                jobs[head] = nil
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                } else if head > 1024 && head * 2 > jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                lock.unlock()
                job.run()
                lock.lock()
                continue
            }
            if stopping { break }
            idle += 1
            lock.wait()
            idle -= 1
        }
        threads -= 1
        lock.unlock()
    }
}

/// Whether the I/O pool may start another thread: the system decides (`pthread_create`), or a
/// test injects refusals to show how the pool and the store behave when the system runs out of
/// threads. One value handed to the pool at construction, not a flag on the pool.
struct ThreadStarts: Sendable {
    /// Given the number of threads started so far, the `errno` a start fails with before
    /// `pthread_create` is called, or nil to call it.
    let refusal: @Sendable (_ started: Int) -> Int32?

    /// Production: every start goes to `pthread_create`.
    static let system = ThreadStarts { _ in nil }

    /// Starts after the first `limit` fail with EAGAIN, as when the process hit its thread limit.
    static func refusedAfter(_ limit: Int) -> ThreadStarts {
        ThreadStarts { started in started < limit ? nil : EAGAIN }
    }
}
