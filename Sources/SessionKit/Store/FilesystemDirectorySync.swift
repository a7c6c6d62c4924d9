#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Group commit of directory syncs: a rename is durable once the directory is synced after
/// it, and one `fsync` of the directory covers every rename that finished before it began.
///
/// A caller that renamed a file asks for a sync; when one is already running (it may have
/// started before the rename) the caller waits for the next, which it or another waiting
/// caller runs for everyone who asked meanwhile. Called on the store's I/O threads only.
final class FilesystemDirectorySync: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// How many syncs were asked for so far (for tests: a delete that must be durable asks).
    var requestedSyncs: UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return requested
    }

    /// Returns once `descriptor` (a directory) has been synced after this call began.
    ///
    /// - Returns: 0, or the `errno` of the failed `fsync`.
    func sync(_ descriptor: Int32) -> Int32 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        requested += 1
        let ticket = requested
        while completed < ticket {
            if running {
                pthread_cond_wait(condition, mutex)
                continue
            }
            running = true
            let target = requested
            pthread_mutex_unlock(mutex)
            let status = fsync(descriptor)
            let error = status == 0 ? 0 : errno
            pthread_mutex_lock(mutex)
            running = false
            if status == 0 { completed = max(completed, target) }
            pthread_cond_broadcast(condition)
            if status != 0 { return error }
        }
        return 0
    }
}
