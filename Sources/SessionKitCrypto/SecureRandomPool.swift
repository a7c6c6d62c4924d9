#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Random bytes from the operating system, fetched 4 KiB at a time and handed out a few at a
/// time: one system call per 128 nonces of 32 bytes instead of one per nonce.
///
/// - Every byte is handed out once: a draw copies bytes out of the buffer, zeroes them and
///   moves past them. Bytes too few for a draw are zeroed and skipped; the next refill starts
///   a new buffer.
/// - A child of `fork(2)` never hands out its parent's bytes. The child starts with a copy of
///   the parent's buffer, whose remaining bytes the parent hands out as well; a
///   `pthread_atfork` child handler counts forks, and a draw that finds the count changed since
///   its buffer was filled zeroes the buffer and refills. The check is an atomic load, no
///   system call. Where the handler cannot be installed, nothing is buffered.
/// - A failed refill throws the source's error and leaves the buffer empty (zeroed): no draw
///   is ever served from bytes the operating system did not provide.
/// - Draws and refills hold one lock, so concurrent draws never overlap. As with every lock,
///   a child forked while another thread holds it cannot take it: fork a process that makes
///   tokens before it starts threads (as pre-forking servers do), or `exec` in the child.
///
/// Docs/crypto.md ("Buffered random bytes") describes the design and what it costs.
package final class SecureRandomPool: Sendable {
    /// Fills a whole buffer with random bytes, or throws.
    package typealias Source = @Sendable (UnsafeMutableRawBufferPointer) throws(SecureRandomError) -> Void

    /// The process's pool, refilled by ``SecureRandom/fill(_:)``; encrypted cookies draw their
    /// nonces from it.
    package static let shared = SecureRandomPool()

    /// Bytes fetched per refill.
    package static let capacity = 4096

    /// The largest draw served from the buffer; larger ones go to the source directly.
    package static let maximumDraw = 256

    private let source: Source
    private let state: Mutex<State>
    /// Whether forks are seen; without that, every draw goes to the source.
    private let buffers: Bool

    /// The buffer and how far it has been handed out.
    private struct State: ~Copyable {
        let bytes: UnsafeMutableRawBufferPointer
        /// The first byte not yet handed out; `capacity` when the buffer is empty.
        var next: Int
        /// ``SecureRandomPool/forkCount`` when the buffer was filled.
        var forks: UInt64

        init() {
            bytes = .allocate(byteCount: SecureRandomPool.capacity, alignment: 16)
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            next = SecureRandomPool.capacity
            forks = 0
        }

        /// Zeroes the bytes not yet handed out and marks the buffer empty.
        mutating func discard() {
            UnsafeMutableRawBufferPointer(rebasing: bytes[next...]).initializeMemory(as: UInt8.self, repeating: 0)
            next = SecureRandomPool.capacity
        }

        deinit {
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            bytes.deallocate()
        }
    }

    /// A pool refilled from `source` (the operating system unless a test gives another).
    package init(source: @escaping Source = { buffer throws(SecureRandomError) in try SecureRandom.fill(buffer) }) {
        self.source = source
        self.state = Mutex(State())
        self.buffers = Self.forkHandlerInstalled
    }

    /// Fills `buffer` with random bytes that no other draw, in this process or a child of it,
    /// is given.
    ///
    /// - Throws: ``SecureRandomError`` when a refill fails; nothing is written to `buffer` then.
    package func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SecureRandomError) {
        let count = buffer.count
        guard count > 0 else { return }
        guard count <= Self.maximumDraw, buffers else {
            try source(buffer)
            return
        }
        // The caller's buffer is written under the lock only; the pool keeps no reference to it.
        let destination = Destination(bytes: buffer)
        try state.withLock { (state) throws(SecureRandomError) in
            let forks = Self.forkCount.load(ordering: .relaxed)
            if state.forks != forks {
                // This process is a child of a fork since the buffer was filled: the parent
                // hands out the same bytes.
                state.discard()
                state.forks = forks
            }
            if Self.capacity - state.next < count {
                state.discard()
                do throws(SecureRandomError) {
                    try source(state.bytes)
                } catch {
                    state.bytes.initializeMemory(as: UInt8.self, repeating: 0)
                    throw error
                }
                state.next = 0
            }
            let taken = UnsafeMutableRawBufferPointer(rebasing: state.bytes[state.next..<(state.next + count)])
            destination.bytes.copyMemory(from: UnsafeRawBufferPointer(taken))
            taken.initializeMemory(as: UInt8.self, repeating: 0)
            state.next += count
        }
    }

    /// The caller's buffer, written inside the lock's closure.
    private struct Destination: @unchecked Sendable {
        let bytes: UnsafeMutableRawBufferPointer
    }

    // MARK: Forks

    /// How many times this process has come out of `fork(2)` as the child; counted by the
    /// `pthread_atfork` child handler (``processDidFork()``).
    private static let forkCount = Atomic<UInt64>(0)

    /// Installs the handler once, the first time a pool is made.
    private static let forkHandlerInstalled: Bool = {
        // The counter is initialized here, not first in the child handler.
        _ = forkCount.load(ordering: .relaxed)
        return pthread_atfork(nil, nil, { SecureRandomPool.processDidFork() }) == 0
    }()

    /// Tells every pool that this process is the child of a fork: what they hold is the
    /// parent's. Called by the `pthread_atfork` child handler (async-signal-safe: one atomic
    /// increment).
    package static func processDidFork() {
        forkCount.add(1, ordering: .relaxed)
    }
}
