/// The first interface's store-backed core, held as a reference that is not counted, for the
/// requests that open and commit it without suspending.
///
/// Every request reaches this one object. With a counted reference, each request would retain
/// and release it, and with several cores those atomic updates pass the object's cache line
/// back and forth between them. The reference stays valid for as long as the middleware's
/// entries are alive (the entry holds the core), and a ``SessionContext`` that uses it holds
/// them.
///
/// Measured (Docs/performance.md, "inmemory"): on a quiet two-core machine with 8 tasks, a
/// sampling profile gave `swift_retain`/`swift_release` 20% of the samples while every request
/// counted its references to the shared objects of the request path, against 12% without. On
/// a loaded machine this one reference is worth less than the noise (14.9% against 14.1%), so
/// a quiet-machine run with and without it should decide whether it stays.
struct UnretainedCore: Sendable {
    private let core: Unmanaged<StoreSessionCore>
    /// The interface's cookie name.
    let cookieName: String
    /// True when the core's commits need no asynchronous call either.
    let commitsImmediately: Bool

    init(_ core: StoreSessionCore, cookieName: String) {
        self.core = .passUnretained(core)
        self.cookieName = cookieName
        self.commitsImmediately = core.commitsImmediately
    }

    /// Runs `body` with the core, without retaining it.
    @inline(__always)
    func withCore<R>(_ body: (StoreSessionCore) throws -> R) rethrows -> R {
        try core._withUnsafeGuaranteedRef(body)
    }
}
