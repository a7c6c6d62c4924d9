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
    private let lock = ThreadCondition()
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var running = false

    /// How many syncs were asked for so far (for tests: a delete that must be durable asks).
    var requestedSyncs: UInt64 {
        lock.withLock { requested }
    }

    /// Returns once `descriptor` (a directory) has been synced after this call began.
    ///
    /// - Returns: 0, or the `errno` of the failed `fsync`.
    func sync(_ descriptor: Int32) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        requested += 1
        let ticket = requested
        while completed < ticket {
            if running {
                lock.wait()
                continue
            }
            running = true
            let target = requested
            lock.unlock()
            let status = fsync(descriptor)
            let error = status == 0 ? 0 : errno
            lock.lock()
            running = false
            if status == 0 { completed = max(completed, target) }
            lock.broadcast()
            if status != 0 { return error }
        }
        return 0
    }
}
