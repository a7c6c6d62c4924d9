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
/// Threads start on demand up to ``maximumThreads`` and then stay, waiting on a condition
/// variable; jobs run first in, first out. Async callers reach it through ``run(_:)``, which
/// suspends the task (freeing its cooperative thread) until a pool thread has done the work.
final class FilesystemIOPool: @unchecked Sendable {
    typealias Job = () -> Void

    /// The most threads the pool starts.
    let maximumThreads: Int
    /// A thread-specific key set on the pool's threads.
    static let marker: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// True on a thread of a file I/O pool.
    static var isPoolThread: Bool { pthread_getspecific(marker) != nil }

    // All mutable state below is guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var jobs: [Job?] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private var stopping = false

    init(maximumThreads: Int) {
        precondition(maximumThreads > 0, "an I/O pool needs at least one thread")
        self.maximumThreads = maximumThreads
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    /// Asks the threads to finish once the queue is empty. The memory of the lock and the
    /// condition is released by the last thread to leave (or here, when none was started).
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        let none = threads == 0
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        if none { release() }
    }

    private func release() {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Queues `job` for a pool thread, starting a new thread when none is idle.
    func submit(_ job: @escaping Job) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        var start = false
        if idle == 0 && threads < maximumThreads {
            threads += 1
            start = true
        } else {
            pthread_cond_signal(condition)
        }
        pthread_mutex_unlock(mutex)
        if start { startThread() }
    }

    /// Runs `body` on a pool thread and returns its result to the calling task.
    func run<T>(_ body: @escaping @Sendable () throws(SessionError) -> T) async throws(SessionError) -> T {
        let result: Result<T, SessionError> = await withUnsafeContinuation { continuation in
            submit {
                do throws(SessionError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let status = pthread_create(&thread, &attributes, { context in
            let pool = Unmanaged<FilesystemIOPool>.fromOpaque(context!).takeRetainedValue()
            pthread_setspecific(FilesystemIOPool.marker, UnsafeRawPointer(bitPattern: 1))
            pool.work()
            return nil
        }, context)
        pthread_attr_destroy(&attributes)
        precondition(status == 0, "cannot start a file I/O thread: pthread_create returned \(status)")
    }

    private func work() {
        pthread_mutex_lock(mutex)
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
                pthread_mutex_unlock(mutex)
                job()
                pthread_mutex_lock(mutex)
                continue
            }
            if stopping { break }
            idle += 1
            pthread_cond_wait(condition, mutex)
            idle -= 1
        }
        threads -= 1
        let last = threads == 0
        pthread_mutex_unlock(mutex)
        if last { release() }
    }
}
