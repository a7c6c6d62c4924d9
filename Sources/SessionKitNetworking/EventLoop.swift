#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Something the event loop watches: a file descriptor and what to do when it is ready.
///
/// All methods are called on the loop's thread.
protocol IOHandler: AnyObject {
    var fileDescriptor: Int32 { get }
    func ioReadable()
    func ioWritable()
    func ioHangup()
}

/// A dedicated I/O thread that drives non-blocking sockets with `poll(2)`, runs submitted tasks
/// and fires timers.
///
/// No blocking system call ever runs on Swift's cooperative thread pool: callers hand work to the
/// loop with ``execute(_:)`` and wait on continuations that the loop resumes. A loop serves a
/// handful of connections (each multiplexes many requests), so `poll` costs next to nothing.
@_spi(Engine) public final class EventLoop: @unchecked Sendable {
    // @unchecked: `handlers`, `readBuffer` and `pollSet` are touched only on the loop thread;
    // everything shared with other threads sits in `shared` behind a Mutex.

    /// The process-wide loop used by default; started on first use, never stopped.
    @_spi(Engine) public static let shared = EventLoop(name: "SessionKit I/O")

    private struct Shared {
        var tasks: [@Sendable () -> Void] = []
        var timers = TimerHeap()
        var sleeping = false
        var sleepDeadline: UInt64 = .max
        var wakePending = false
    }

    private let shared = Mutex(Shared())
    private let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let threadID = Atomic<UInt>(0)
    /// The thread's name, for debuggers.
    @_spi(Engine) public let name: String

    private var handlers: [Int32: Registration] = [:]
    let readBuffer: UnsafeMutableRawBufferPointer

    private struct Registration {
        let handler: any IOHandler
        var events: Int16
    }

    /// Creates and starts a loop on a new thread.
    @_spi(Engine) public init(name: String) {
        self.name = name
        var fds: [Int32] = [0, 0]
        let rc = pipe(&fds)
        precondition(rc == 0, "SessionKit: cannot create the event loop's wake-up pipe (errno \(errno))")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
        readBuffer = .allocate(byteCount: 256 * 1024, alignment: 16)
        start()
    }

    private func start() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        precondition(rc == 0, "SessionKit: cannot start the event loop thread (error \(rc))")
        pthread_detach(thread)
    }

    /// Whether the caller runs on this loop's thread.
    @_spi(Engine) public var inEventLoop: Bool {
        UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))) == threadID.load(ordering: .acquiring)
    }

    /// Runs `task` on the loop's thread, soon. Safe to call from any thread.
    @_spi(Engine) public func execute(_ task: @escaping @Sendable () -> Void) {
        let wake = shared.withLock { state -> Bool in
            state.tasks.append(task)
            if state.sleeping && !state.wakePending {
                state.wakePending = true
                return true
            }
            return false
        }
        if wake { wakeUp() }
    }

    /// Runs `action` on the loop's thread at `deadline`, unless the returned timer is cancelled first.
    @discardableResult
    @_spi(Engine) public func schedule(at deadline: Deadline, _ action: @escaping @Sendable () -> Void) -> Timer {
        let timer = Timer(action: action)
        let wake = shared.withLock { state -> Bool in
            state.timers.insert(deadline: deadline.uptimeNanoseconds, timer: timer)
            if state.sleeping && !state.wakePending && deadline.uptimeNanoseconds < state.sleepDeadline {
                state.wakePending = true
                return true
            }
            return false
        }
        if wake { wakeUp() }
        return timer
    }

    /// A pending timer; ``cancel()`` stops it from firing.
    @_spi(Engine) public final class Timer: Sendable {
        private let state: Mutex<(@Sendable () -> Void)?>

        fileprivate init(action: @escaping @Sendable () -> Void) {
            state = Mutex(action)
        }

        /// Stops the timer; returns `true` if it had not fired yet.
        @discardableResult
        @_spi(Engine) public func cancel() -> Bool {
            state.withLock { action in
                defer { action = nil }
                return action != nil
            }
        }

        /// Whether the timer has neither fired nor been cancelled.
        var isPending: Bool { state.withLock { $0 != nil } }

        fileprivate func take() -> (@Sendable () -> Void)? {
            state.withLock { action in
                defer { action = nil }
                return action
            }
        }
    }

    private func wakeUp() {
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)
    }

    // MARK: Registration (loop thread only)

    func register(_ handler: any IOHandler, read: Bool, write: Bool) {
        assert(inEventLoop)
        handlers[handler.fileDescriptor] = Registration(handler: handler, events: Self.events(read: read, write: write))
    }

    func setInterest(_ handler: any IOHandler, read: Bool, write: Bool) {
        assert(inEventLoop)
        let fd = handler.fileDescriptor
        guard let registration = handlers[fd], registration.handler === handler else { return }
        handlers[fd]?.events = Self.events(read: read, write: write)
    }

    func deregister(_ handler: any IOHandler) {
        assert(inEventLoop)
        let fd = handler.fileDescriptor
        if let registration = handlers[fd], registration.handler === handler {
            handlers[fd] = nil
        }
    }

    private static func events(read: Bool, write: Bool) -> Int16 {
        (read ? Int16(POLLIN) : 0) | (write ? Int16(POLLOUT) : 0)
    }

    // MARK: The loop

    private func run() {
        threadID.store(UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))), ordering: .releasing)
        var pollSet: [pollfd] = []
        var pollHandlers: [any IOHandler] = []
        while true {
            let timeout: Int32 = shared.withLock { state in
                if !state.tasks.isEmpty { return 0 }
                let now = Deadline.now().uptimeNanoseconds
                state.sleeping = true
                if let next = state.timers.nextDeadline {
                    state.sleepDeadline = next
                    if next <= now { return 0 }
                    let ms = (next - now + 999_999) / 1_000_000
                    return Int32(min(ms, 60_000))
                }
                state.sleepDeadline = .max
                return 60_000
            }

            pollSet.removeAll(keepingCapacity: true)
            pollHandlers.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wakeReadFD, events: Int16(POLLIN), revents: 0))
            for (fd, registration) in handlers where registration.events != 0 {
                pollSet.append(pollfd(fd: fd, events: registration.events, revents: 0))
                pollHandlers.append(registration.handler)
            }
            let ready = poll(&pollSet, nfds_t(pollSet.count), timeout)
            shared.withLock { state in
                state.sleeping = false
                state.wakePending = false
                state.sleepDeadline = .max
            }
            if ready > 0 {
                if pollSet[0].revents != 0 {
                    var drain = [UInt8](repeating: 0, count: 64)
                    while read(wakeReadFD, &drain, drain.count) > 0 {}
                }
                for index in 1..<pollSet.count {
                    let revents = pollSet[index].revents
                    if revents == 0 { continue }
                    let handler = pollHandlers[index - 1]
                    // The handler may have been closed (and its fd reused) by an earlier event.
                    guard let current = handlers[pollSet[index].fd], current.handler === handler else { continue }
                    if revents & Int16(POLLOUT) != 0 { handler.ioWritable() }
                    if revents & Int16(POLLIN) != 0 {
                        guard let still = handlers[pollSet[index].fd], still.handler === handler else { continue }
                        handler.ioReadable()
                    } else if revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                        guard let still = handlers[pollSet[index].fd], still.handler === handler else { continue }
                        handler.ioHangup()
                    }
                }
            }
            runTasks()
            runTimers()
        }
    }

    private func runTasks() {
        // Tasks submitted while these run are picked up on the next turn (poll with timeout 0).
        let tasks = shared.withLock { state -> [@Sendable () -> Void] in
            var taken: [@Sendable () -> Void] = []
            swap(&taken, &state.tasks)
            return taken
        }
        for task in tasks { task() }
    }

    private func runTimers() {
        let now = Deadline.now().uptimeNanoseconds
        let due = shared.withLock { state in state.timers.popDue(now: now) }
        for timer in due {
            timer.take()?()
        }
    }
}
