// Thread Sanitizer support for `Synchronization.Mutex`.
//
// On Linux, `Mutex` takes its uncontended path through an inlined atomic, but a contended lock
// or unlock goes through a priority-inheriting futex inside the (uninstrumented) standard
// library, so Thread Sanitizer misses the happens-before edge and reports races on data the
// mutex protects. When the tests are built with `-DSESSIONKIT_TSAN` (scripts/sanitizers.sh does
// this), this module-local `Mutex` shadows the standard one: it wraps it and tells the sanitizer
// about every acquire and release. Ordinary builds do not compile it.
//
// The same file is linked into every target that uses `Mutex` (a module-local declaration
// shadows an imported one only inside its own module). scripts/sanitizers.sh checks that a real
// race in code using this wrapper is still reported.
#if SESSIONKIT_TSAN
import Synchronization

@_silgen_name("__tsan_acquire")
private func tsanAcquire(_ address: UnsafeMutableRawPointer)

@_silgen_name("__tsan_release")
private func tsanRelease(_ address: UnsafeMutableRawPointer)

/// The address the sanitizer synchronizes on: one object per mutex, never the protected value
/// itself (taking the value's address is already an access the sanitizer would check).
private final class TSanSyncToken: Sendable {}

@usableFromInline
struct Mutex<Value: ~Copyable>: ~Copyable {
    private let base: Synchronization.Mutex<Value>
    private let token = TSanSyncToken()

    @usableFromInline
    init(_ initialValue: consuming sending Value) {
        base = Synchronization.Mutex(initialValue)
    }


    @usableFromInline
    borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let address = Unmanaged.passUnretained(token).toOpaque()
        return try base.withLock { (value: inout sending Value) throws(E) -> sending Result in
            tsanAcquire(address)
            defer { tsanRelease(address) }
            return try body(&value)
        }
    }

    @usableFromInline
    borrowing func withLockIfAvailable<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result? {
        let address = Unmanaged.passUnretained(token).toOpaque()
        return try base.withLockIfAvailable { (value: inout sending Value) throws(E) -> sending Result in
            tsanAcquire(address)
            defer { tsanRelease(address) }
            return try body(&value)
        }
    }
}

extension Mutex: @unchecked Sendable where Value: ~Copyable {}
#endif
