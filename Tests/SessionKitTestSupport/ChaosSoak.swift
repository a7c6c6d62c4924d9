import Foundation
import SessionKit
import SessionKitMallocStats
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A chaos soak: simulated users drive ``SessionMiddleware`` over a real store (redis-server or
/// memcached, behind a ``FaultProxy``) for a fixed time while the server is killed and
/// restarted, frozen, and its connections reset or stalled, and random requests are cancelled.
///
/// Every user has its own cookie jar, a private random marker and a counter that only grows:
/// each write stores (marker, counter + 1). Every response is checked:
/// - the session holds the user's own marker or no marker at all (never another user's);
/// - the counter read is at least the last acknowledged one (an acknowledged write is never
///   lost) and at most the last one attempted (nothing appears that the user never wrote);
/// - no request runs past ``Configuration/requestDeadline``;
/// - after warm-up, resident memory stays below the warm-up value plus
///   ``Configuration/rssAllowance`` (or, with ``Configuration/heapAllowance``, the heap in use
///   below its warm-up value plus that);
/// - after each fault, requests succeed again within ``Configuration/recoveryLimit``.
///
/// A write is acknowledged when the middleware returned normally (the save and the `Set-Cookie`
/// succeeded). A request that threw is an error surfaced to the caller, never an
/// acknowledgement; its write may or may not have happened, so afterwards either value is
/// accepted. A cancelled request is neither.
///
/// Redis runs with `appendonly yes` and `appendfsync always`, so every acknowledged write
/// survives `kill -9` and the strong check applies across restarts. memcached is a cache and
/// forgets everything when it restarts: the run counts restart epochs, and a write is held to
/// the strong check only when it was acknowledged, and is read, with no restart begun between
/// the write's start and the read's end. A session lost to a restart must come back empty
/// (a fresh session), never with another user's marker.
///
/// The run ends when ``Configuration/duration`` has passed and every configured fault kind
/// was injected at least once; then the faults are lifted and every user reads its session
/// once more (the final read-back).
public enum ChaosSoak {
    /// The store under test.
    public enum StoreKind: String, Sendable, CaseIterable {
        case redis
        case memcached
    }

    /// The faults injected, one at a time, in turn.
    public enum FaultKind: String, Sendable, CaseIterable {
        /// `kill -9` of the server, then a new one on the same port after a short downtime.
        case serverRestart = "server-restart"
        /// SIGSTOP of the server for ``Configuration/stallLength``, then SIGCONT.
        case serverStall = "server-stall"
        /// The proxy resets (RST) every open connection.
        case proxyReset = "proxy-reset"
        /// The proxy forwards half of the next server replies, then resets those connections.
        case proxyResetMidReply = "proxy-reset-mid-reply"
        /// The proxy forwards nothing for ``Configuration/stallLength``; connections stay open.
        case proxyStall = "proxy-stall"
    }

    /// What the users talk to: a middleware over a store client connected to the proxy.
    public struct Target: Sendable {
        /// The middleware under test.
        public var middleware: SessionMiddleware
        /// Closes the store client at the end of the run.
        public var close: @Sendable () -> Void

        public init(middleware: SessionMiddleware, close: @escaping @Sendable () -> Void) {
            self.middleware = middleware
            self.close = close
        }
    }

    /// Builds the middleware for a store reached at `127.0.0.1:port` (the fault proxy), with
    /// ``Configuration/clientTimeout`` as the client's connect and command timeouts.
    public typealias Factory = @Sendable (_ port: Int, _ configuration: Configuration) throws -> Target

    /// What to run.
    public struct Configuration: Sendable {
        /// The store.
        public var store: StoreKind
        /// How long the users run (at least; see ``ChaosSoak``).
        public var duration: Duration
        /// How many simulated users.
        public var users: Int
        /// The store client's connect and command timeout.
        public var clientTimeout: Duration
        /// A request still running this long after it started is a violation (a hang).
        public var requestDeadline: Duration
        /// The faults to inject, in this order, round after round.
        public var faults: [FaultKind]
        /// The pause before each fault, in seconds, drawn at random from this range.
        public var faultInterval: ClosedRange<Double>
        /// How long stalls (server frozen, proxy stalled) last; longer than the client timeout.
        public var stallLength: Duration
        /// How long the server stays down between kill and restart, in milliseconds.
        public var restartDowntime: ClosedRange<Int>
        /// Before the next fault, this many requests must have succeeded since the last one, so
        /// that faults never pile up on a machine too slow to recover between them.
        public var successesBetweenFaults: Int
        /// After a fault, requests must succeed again within this time (a violation otherwise).
        public var recoveryLimit: Duration
        /// The share of requests that are cancelled at a random moment.
        public var cancelProbability: Double
        /// The longest delay before such a cancellation, in microseconds.
        public var cancelDelay: ClosedRange<Int>
        /// The share of requests that write (the others only read).
        public var writeProbability: Double
        /// The pause between two requests of a user, in milliseconds.
        public var thinkTime: ClosedRange<Int>
        /// The resident memory at this point of the run is the baseline for the memory bound.
        public var warmUp: Duration
        /// How far resident memory may grow above the baseline.
        public var rssAllowance: Int
        /// When set, the memory bound reads the heap in use (bytes allocated and not freed)
        /// instead, and allows it to grow this much above its warm-up value; resident memory
        /// is then only reported. For a run that shares its process with other work (the test
        /// suites), whose resident memory is not the soak's own: a leak still shows in the
        /// heap, while memory the allocator keeps for another suite's burst does not.
        public var heapAllowance: Int?
        /// Whether memory growth is a violation. Only a soak alone in its process can tell its
        /// own memory from other work's (SessionKitSoak, which CI runs after the tests); soaks
        /// inside a test run that runs other suites at the same time report memory but do not
        /// bound it.
        public var boundsMemory = true
        /// How often resident memory is sampled.
        public var rssSampleInterval: Duration
        /// The seed of the users' and the fault schedule's random choices.
        public var seed: UInt64
        /// Receives a progress line every ``progressInterval``, when set.
        public var progress: (@Sendable (String) -> Void)?
        /// How often ``progress`` is called.
        public var progressInterval: Duration
        /// The run goes on past ``duration`` (by at most a minute) until this many requests
        /// were made, so that a short run on a slow machine still exercises what it checks.
        public var minimumRequests = 0

        /// A configuration with the defaults of the long soak: 300 users, 1 s client timeouts,
        /// a 10 s request deadline, 1.5 s stalls, a fault every 2 to 5 s, 5 % of requests
        /// cancelled, and 64 MiB of allowed memory growth after a 10 s warm-up.
        public init(store: StoreKind, duration: Duration, users: Int = 300, seed: UInt64 = 1) {
            self.store = store
            self.duration = duration
            self.users = users
            self.clientTimeout = .seconds(1)
            self.requestDeadline = .seconds(10)
            self.faults = FaultKind.allCases
            self.faultInterval = 2.0...5.0
            self.stallLength = .milliseconds(1500)
            self.restartDowntime = 0...500
            self.successesBetweenFaults = 100
            self.recoveryLimit = .seconds(60)
            self.cancelProbability = 0.05
            self.cancelDelay = 0...20_000
            self.writeProbability = 0.6
            self.thinkTime = 0...20
            self.warmUp = .seconds(10)
            self.rssAllowance = 64 << 20
            self.heapAllowance = nil
            self.rssSampleInterval = .milliseconds(250)
            self.seed = seed
            self.progress = nil
            self.progressInterval = .seconds(30)
        }
    }

    /// What a run did and found.
    public struct Report: Sendable, CustomStringConvertible {
        public var store: StoreKind
        public var users: Int
        /// Wall time of the users' phase, in seconds.
        public var seconds: Double = 0
        /// Requests started (reads and writes, cancelled ones included).
        public var requests = 0
        /// Writes acknowledged (the middleware returned normally).
        public var acknowledgedWrites = 0
        /// Reads that returned normally.
        public var successfulReads = 0
        /// Reads (in reads or writes) of a session whose last acknowledged write had to be
        /// there, and was.
        public var verifiedReadBacks = 0
        /// Requests that ended in an error thrown to the caller (not counting cancellations).
        public var errors = 0
        /// Those errors by kind (``SessionError`` code, or the error's type).
        public var errorsByKind: [String: Int] = [:]
        /// Cancellations issued.
        public var cancellationsIssued = 0
        /// Requests that were cancelled and ended without a result.
        public var cancelledRequests = 0
        /// Faults injected, by kind (mid-reply resets counted as they happen).
        public var faults: [String: Int] = [:]
        /// Sessions found empty because a memcached restart forgot them (allowed; never Redis).
        public var sessionsLostToRestart = 0
        /// Users whose final read-back found their last acknowledged write (or, for memcached,
        /// a write acknowledged before the last restart, gone as allowed).
        public var finalReadBacks = 0
        /// Users the final read-back checked.
        public var finalUsers = 0
        /// Resident memory at the end of warm-up, the bound, and the highest sample after it.
        public var warmUpRSS = 0
        public var rssBound = 0
        public var peakRSS = 0
        public var rssSamples = 0
        /// Bytes allocated and not freed (the C allocator's count), at the end of the warm-up,
        /// at their peak, and at the end of the run (after the users stopped): a leak shows in
        /// these; memory the allocator keeps after a burst shows only in RSS.
        public var warmUpHeap = 0
        public var peakHeap = 0
        public var endHeap = 0
        /// The bound on the heap in use, when ``Configuration/heapAllowance`` set one (then
        /// ``rssBound`` is 0).
        public var heapBound = 0
        /// Violations, by kind.
        public var violationsByKind: [String: Int] = [:]
        /// The first violations, described.
        public var violationSamples: [String] = []
        /// The first errors, described.
        public var errorSamples: [String] = []

        public init(store: StoreKind, users: Int) {
            self.store = store
            self.users = users
        }

        /// Faults injected in all.
        public var totalFaults: Int { faults.values.reduce(0, +) }
        /// Violations in all.
        public var violations: Int { violationsByKind.values.reduce(0, +) }

        /// `RESULT soak store=… seconds=… requests=… faults=… errors=… violations=…`.
        public var resultLine: String {
            "RESULT soak store=\(store.rawValue) seconds=\(Int(seconds.rounded())) requests=\(requests) faults=\(totalFaults) errors=\(errors) violations=\(violations)"
        }

        public var description: String {
            func list(_ d: [String: Int]) -> String {
                d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            var lines = [
                "store                 \(store.rawValue)",
                "users                 \(users)",
                "seconds               \(String(format: "%.1f", seconds))",
                "requests              \(requests)",
                "acknowledged writes   \(acknowledgedWrites)",
                "successful reads      \(successfulReads)",
                "verified read-backs   \(verifiedReadBacks)",
                "errors surfaced       \(errors) (\(list(errorsByKind)))",
                "cancellations issued  \(cancellationsIssued); requests ended by them \(cancelledRequests)",
                "faults injected       \(totalFaults) (\(list(faults)))",
                "sessions lost to restart (memcached only) \(sessionsLostToRestart)",
                "final read-back       \(finalReadBacks) of \(finalUsers) users",
                "RSS                   warm-up \(warmUpRSS >> 20) MiB, bound \(rssBound > 0 ? "\(rssBound >> 20) MiB" : "none (the heap is bounded)"), peak after warm-up \(peakRSS >> 20) MiB (\(rssSamples) samples)",
                "heap in use           warm-up \(warmUpHeap >> 20) MiB, bound \(heapBound > 0 ? "\(heapBound >> 20) MiB" : "none (RSS is bounded)"), peak \(peakHeap >> 20) MiB, end \(endHeap >> 20) MiB (allocated and not freed)",
                "violations            \(violations) (\(list(violationsByKind)))",
            ]
            for sample in violationSamples { lines.append("  violation: \(sample)") }
            for sample in errorSamples { lines.append("  error: \(sample)") }
            return lines.joined(separator: "\n")
        }
    }

    /// Starts the store's server and a fault proxy in front of it, runs the soak, and stops them.
    ///
    /// Runs in one process take turns: resident memory is the whole process's, so the memory
    /// bound of one run must not count the users of another.
    ///
    /// - Throws: ``FixtureError`` when a server cannot be started or restarted.
    public static func run(_ configuration: Configuration, factory: Factory) async throws -> Report {
        await turns.acquire()
        do {
            let report = try await runAlone(configuration, factory: factory)
            await turns.release()
            return report
        } catch {
            await turns.release()
            throw error
        }
    }

    /// Admits one soak at a time, in arrival order.
    actor Turns {
        private var busy = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func acquire() async {
            if busy {
                await withCheckedContinuation { waiting.append($0) }
            } else {
                busy = true
            }
        }

        /// Hands the turn to the next waiting run, if any.
        func release() {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
    }

    private static let turns = Turns()

    private static func runAlone(_ configuration: Configuration, factory: Factory) async throws -> Report {
        let server: SoakServer
        switch configuration.store {
        case .redis:
            // Every acknowledged write is on disk before the reply: it survives kill -9.
            let redis = try await RedisServer.start(RedisServer.Options(extraArguments: ["--appendonly", "yes", "--appendfsync", "always"]))
            server = SoakServer(
                port: redis.port, keepsDataAcrossRestarts: true, restart: { try await redis.restart() }, stop: { redis.stop() },
                suspend: { redis.suspend() }, resume: { redis.resume() }, logTail: { redis.logTail() })
        case .memcached:
            let memcached = try await MemcachedServer.start()
            server = SoakServer(
                port: memcached.port, keepsDataAcrossRestarts: false, restart: { try await memcached.restart() }, stop: { memcached.stop() },
                suspend: { memcached.suspend() }, resume: { memcached.resume() }, logTail: { memcached.logTail() })
        }
        defer {
            server.resume()
            server.stop()
        }
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let target = try factory(proxy.port, configuration)
        defer { target.close() }
        let soak = Run(configuration: configuration, server: server, proxy: proxy, middleware: target.middleware)
        return try await soak.run()
    }

    /// Resident memory of this process (VmRSS), in bytes; 0 when unknown.
    public static func residentMemory() -> Int {
        guard let text = ProcFile.text("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.dropFirst(6).filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}

/// The server under test, whatever its kind.
struct SoakServer: Sendable {
    let port: Int
    let keepsDataAcrossRestarts: Bool
    let restart: @Sendable () async throws -> Void
    let stop: @Sendable () -> Void
    let suspend: @Sendable () -> Void
    let resume: @Sendable () -> Void
    let logTail: @Sendable () -> String
}

/// One run's shared state.
final class Run: Sendable {
    let configuration: ChaosSoak.Configuration
    let server: SoakServer
    let proxy: FaultProxy
    let middleware: SessionMiddleware
    let report: Mutex<ChaosSoak.Report>
    /// Restart epochs: odd while a restart is under way (kill to ready), even otherwise.
    let epoch = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let successes = Atomic<Int>(0)
    /// Cancels the injector's and sampler's sleeps when the users are done.
    let finished = Atomic<Bool>(false)

    init(configuration: ChaosSoak.Configuration, server: SoakServer, proxy: FaultProxy, middleware: SessionMiddleware) {
        self.configuration = configuration
        self.server = server
        self.proxy = proxy
        self.middleware = middleware
        self.report = Mutex(ChaosSoak.Report(store: configuration.store, users: configuration.users))
    }

    func violation(_ kind: String, _ detail: String) {
        report.withLock { report in
            report.violationsByKind[kind, default: 0] += 1
            if report.violationSamples.count < 20 { report.violationSamples.append("\(kind): \(detail)") }
        }
    }

    func run() async throws -> ChaosSoak.Report {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: configuration.duration)
        let injector = Task { try await self.injectFaults(until: end) }
        let sampler = Task { await self.sampleMemory(from: start) }
        let reporter = Task { await self.reportProgress(from: start) }
        let users = await withTaskGroup(of: SoakUser.self) { group in
            for index in 0..<configuration.users {
                group.addTask { await self.runUser(index) }
            }
            // The users run until the injector is done (the duration passed and every fault
            // kind was injected), then finish their current request.
            let injected = await injector.result
            // The load goes on against the servers until enough requests were made (at most a
            // minute of overtime): polled, as the requests' pace is the servers'.
            _ = try? await Poll.holds(within: .seconds(60), every: .milliseconds(50)) {
                report.withLock({ $0.requests }) >= configuration.minimumRequests
            }
            self.stopping.store(true, ordering: .relaxed)
            if case .failure(let error) = injected {
                self.violation("fixture", "fault injection failed: \(error)")
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = clock.now - start
        let endHeap = sessionkit_heap_in_use()
        report.withLock { $0.endHeap = endHeap }
        finished.store(true, ordering: .relaxed)
        sampler.cancel()
        reporter.cancel()
        _ = await sampler.result
        _ = await reporter.result
        if case .failure(let error) = await injector.result { throw error }
        // Lift every fault, then every user reads its session once more.
        server.resume()
        proxy.clearFaults()
        await finalReadBack(users)
        return report.withLock { report in
            report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return report
        }
    }

    // MARK: Users

    func runUser(_ index: Int) async -> SoakUser {
        var user = SoakUser(index: index, seed: configuration.seed)
        while !stopping.load(ordering: .relaxed) {
            let pause = Int.random(in: configuration.thinkTime, using: &user.random)
            try? await Pace.pause(.milliseconds(pause))  // think time
            let write = Double.random(in: 0..<1, using: &user.random) < configuration.writeProbability
            let cancelAfter: Duration? =
                Double.random(in: 0..<1, using: &user.random) < configuration.cancelProbability
                ? .microseconds(Int.random(in: configuration.cancelDelay, using: &user.random)) : nil
            if !(await request(&user, write: write, cancelAfter: cancelAfter)) {
                user.hung = true
                break
            }
        }
        return user
    }

    /// One request; false when it hung (the user then stops).
    func request(_ user: inout SoakUser, write: Bool, cancelAfter: Duration?) async -> Bool {
        let value = write ? user.attempted + 1 : 0
        if write { user.attempted = value }
        let attemptedBefore = write ? value - 1 : user.attempted
        let browser = user.browser, marker = user.marker, index = user.index, middleware = self.middleware
        report.withLock {
            $0.requests += 1
            if cancelAfter != nil { $0.cancellationsIssued += 1 }
        }
        let startEpoch = epoch.load(ordering: .sequentiallyConsistent)
        let task = Task { () -> Result<SoakObservation, any Error> in
            do {
                let result = try await browser.request(middleware) { context in
                    let session = try await context.session()
                    let seen = SoakObservation(
                        marker: session["marker"]?.stringValue, owner: session["owner"]?.intValue, counter: session["counter"]?.intValue)
                    if write {
                        session["marker"] = .string(marker)
                        session["owner"] = .int(index)
                        session["counter"] = .int(value)
                    }
                    return seen
                }
                return .success(result.value)
            } catch {
                return .failure(error)
            }
        }
        if let cancelAfter {
            Task {
                try? await Pace.pause(cancelAfter)  // a random moment to give up at
                task.cancel()
            }
        }
        guard let outcome = await SoakDeadline.wait(for: task, limit: configuration.requestDeadline) else {
            violation("hung-request", "user \(index): a \(write ? "write" : "read") still running after \(configuration.requestDeadline)")
            return false
        }
        let endEpoch = epoch.load(ordering: .sequentiallyConsistent)
        switch outcome {
        case .success(let seen):
            check(seen, user: user, attemptedBefore: attemptedBefore, startEpoch: startEpoch, endEpoch: endEpoch)
            successes.add(1, ordering: .relaxed)
            if write {
                user.record(value, "acknowledged")
                user.acknowledged = value
                user.acknowledgedEpoch = startEpoch == endEpoch && startEpoch % 2 == 0 ? startEpoch : nil
                report.withLock { $0.acknowledgedWrites += 1 }
            } else {
                report.withLock { $0.successfulReads += 1 }
            }
        case .failure(let error):
            if write { user.record(value, cancelAfter != nil ? "cancelled (\(Self.kind(of: error)))" : "failed (\(Self.kind(of: error)))") }
            if cancelAfter != nil {
                report.withLock { $0.cancelledRequests += 1 }
            } else {
                let kind = Self.kind(of: error)
                report.withLock {
                    $0.errors += 1
                    $0.errorsByKind[kind, default: 0] += 1
                    if $0.errorSamples.count < 5 && $0.errorsByKind[kind] == 1 { $0.errorSamples.append("\(kind): \(error)") }
                }
            }
        }
        return true
    }

    static func kind(of error: any Error) -> String {
        switch error {
        case let error as SessionError: return "\(error.code)"
        case is SessionHandlerError: return "SessionHandlerError"
        case is CancellationError: return "CancellationError"
        default: return "\(type(of: error))"
        }
    }

    /// Whether the user's last acknowledged write must be visible to a read that ran from
    /// `startEpoch` to `endEpoch`.
    func mustSee(_ user: SoakUser, startEpoch: Int, endEpoch: Int) -> Bool {
        guard user.acknowledged > 0 else { return false }
        if server.keepsDataAcrossRestarts { return true }
        guard let written = user.acknowledgedEpoch else { return false }
        return written == startEpoch && startEpoch == endEpoch
    }

    /// Checks what a request read; returns whether the last acknowledged write was required
    /// and seen.
    @discardableResult
    func check(_ seen: SoakObservation, user: SoakUser, attemptedBefore: Int, startEpoch: Int, endEpoch: Int) -> Bool {
        let who = "user \(user.index)"
        if let marker = seen.marker, marker != user.marker {
            violation("crossed-session", "\(who) read marker \(marker) (owner \(seen.owner.map(String.init) ?? "?")), its own is \(user.marker)")
            return false
        }
        if let owner = seen.owner, owner != user.index {
            violation("crossed-session", "\(who) read a session owned by user \(owner)")
            return false
        }
        if seen.marker == nil && (seen.counter != nil || seen.owner != nil) {
            violation("torn-session", "\(who) read a counter or owner without a marker")
            return false
        }
        if let counter = seen.counter, counter > attemptedBefore {
            violation("phantom-value", "\(who) read counter \(counter), but wrote at most \(attemptedBefore)")
            return false
        }
        let required = mustSee(user, startEpoch: startEpoch, endEpoch: endEpoch)
        switch (seen.counter, required) {
        case (nil, true):
            violation("lost-acknowledged-write", "\(who) found no session; its write \(user.acknowledged) was acknowledged (epochs \(startEpoch)-\(endEpoch))")
            return false
        case (let counter?, true) where counter < user.acknowledged:
            violation(
                "lost-acknowledged-write",
                "\(who) read counter \(counter) (its write: \(user.outcome(of: counter))) after write \(user.acknowledged) was acknowledged (epochs \(startEpoch)-\(endEpoch))")
            return false
        case (_, true):
            report.withLock { $0.verifiedReadBacks += 1 }
            return true
        case (nil, false) where user.acknowledged > 0:
            // memcached forgot it in a restart (mustSee is never false for Redis once a write
            // was acknowledged).
            report.withLock { $0.sessionsLostToRestart += 1 }
            return false
        default:
            return false
        }
    }

    func finalReadBack(_ users: [SoakUser]) async {
        let checked = await withTaskGroup(of: Bool?.self) { group in
            for user in users where !user.hung && user.acknowledged > 0 {
                group.addTask { await self.finalRead(user) }
            }
            return await group.reduce(into: [Bool?]()) { $0.append($1) }
        }
        report.withLock { report in
            report.finalUsers = checked.count
            report.finalReadBacks = checked.filter { $0 == true }.count
        }
    }

    /// Reads `user`'s session until a read succeeds (the store may still be loading or
    /// reconnecting), then checks it; nil when no read succeeded.
    func finalRead(_ user: SoakUser) async -> Bool? {
        let browser = user.browser, middleware = self.middleware
        for _ in 0..<100 {
            let epochNow = epoch.load(ordering: .sequentiallyConsistent)
            let task = Task { () -> Result<SoakObservation, any Error> in
                do {
                    let result = try await browser.request(middleware) { context in
                        let session = try await context.session()
                        return SoakObservation(
                            marker: session["marker"]?.stringValue, owner: session["owner"]?.intValue, counter: session["counter"]?.intValue)
                    }
                    return .success(result.value)
                } catch {
                    return .failure(error)
                }
            }
            guard let outcome = await SoakDeadline.wait(for: task, limit: configuration.requestDeadline) else {
                violation("hung-request", "user \(user.index): the final read still running after \(configuration.requestDeadline)")
                return nil
            }
            if case .success(let seen) = outcome {
                let required = mustSee(user, startEpoch: epochNow, endEpoch: epochNow)
                let seenIt = check(seen, user: user, attemptedBefore: user.attempted, startEpoch: epochNow, endEpoch: epochNow)
                // A memcached session lost in a restart is allowed; it counts as read back.
                return required ? seenIt : true
            }
            try? await Pace.pause(.milliseconds(100))  // between retries of the final read
        }
        violation("final-read-failed", "user \(user.index): no read succeeded after the faults were lifted")
        return nil
    }

    // MARK: Faults

    func injectFaults(until end: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        var random = SoakRandom(seed: configuration.seed ^ 0xFA17)
        var round = 0
        while clock.now < end || round < configuration.faults.count {
            guard !configuration.faults.isEmpty else {
                try await Pace.pause(end - clock.now)  // a run without faults lasts its duration
                return
            }
            let pause = Double.random(in: configuration.faultInterval, using: &random)
            try await Pace.pause(.milliseconds(Int(pause * 1000)))  // random time between faults
            await waitForRecovery(after: round == 0 ? nil : configuration.faults[(round - 1) % configuration.faults.count])
            let kind = configuration.faults[round % configuration.faults.count]
            round += 1
            try await inject(kind, random: &random)
        }
        await waitForRecovery(after: configuration.faults.isEmpty ? nil : configuration.faults[(round - 1) % configuration.faults.count])
    }

    /// Waits until ``ChaosSoak/Configuration/successesBetweenFaults`` requests succeeded since
    /// the last fault; a store that does not recover within the limit is a violation.
    func waitForRecovery(after fault: ChaosSoak.FaultKind?) async {
        let target = successes.load(ordering: .relaxed) + configuration.successesBetweenFaults
        // Recovery is the servers' and the clients' reconnects: polled, bounded.
        let recovered = (try? await Poll.holds(within: configuration.recoveryLimit) { successes.load(ordering: .relaxed) >= target }) ?? false
        if !recovered {
            violation("no-recovery", "fewer than \(configuration.successesBetweenFaults) requests succeeded within \(configuration.recoveryLimit) after \(fault?.rawValue ?? "the start")")
        }
    }

    func inject(_ kind: ChaosSoak.FaultKind, random: inout SoakRandom) async throws {
        switch kind {
        case .serverRestart:
            epoch.add(1, ordering: .sequentiallyConsistent)
            server.stop()
            let downtime = Int.random(in: configuration.restartDowntime, using: &random)
            try await Pace.pause(.milliseconds(downtime))  // the outage's length
            do {
                try await server.restart()
            } catch {
                throw FixtureError("the \(configuration.store.rawValue) server did not restart: \(error)\n\(server.logTail())")
            }
            epoch.add(1, ordering: .sequentiallyConsistent)
            count(kind)
        case .serverStall:
            server.suspend()
            count(kind)
            try? await Pace.pause(configuration.stallLength)  // the stall's length
            server.resume()
        case .proxyReset:
            proxy.resetAllConnections()
            count(kind)
        case .proxyResetMidReply:
            let before = proxy.midReplyResets
            proxy.resetMidReply(count: 2)
            // Counted when they happen: they need replies to cut.
            _ = try? await Poll.holds(within: .seconds(10), every: .milliseconds(10)) { proxy.midReplyResets - before >= 2 }
            proxy.clearFaults()
            let done = proxy.midReplyResets - before
            report.withLock { $0.faults[kind.rawValue, default: 0] += done }
        case .proxyStall:
            proxy.setStalled(true)
            count(kind)
            try? await Pace.pause(configuration.stallLength)  // the stall's length
            proxy.setStalled(false)
        }
    }

    func count(_ kind: ChaosSoak.FaultKind) {
        report.withLock { $0.faults[kind.rawValue, default: 0] += 1 }
    }

    // MARK: Memory and progress

    func sampleMemory(from start: ContinuousClock.Instant) async {
        let clock = ContinuousClock()
        var baseline: Int?
        while !finished.load(ordering: .relaxed) {
            do { try await Pace.pause(configuration.rssSampleInterval) } catch { break }  // sampling rate
            let rss = ChaosSoak.residentMemory()
            guard rss > 0 else { continue }
            let heap = sessionkit_heap_in_use()
            guard let base = baseline else {
                if clock.now - start >= configuration.warmUp {
                    baseline = rss
                    report.withLock {
                        $0.warmUpRSS = rss
                        $0.peakRSS = rss
                        $0.warmUpHeap = heap
                        $0.peakHeap = heap
                        if let allowance = configuration.heapAllowance {
                            $0.heapBound = heap + allowance
                        } else {
                            $0.rssBound = rss + configuration.rssAllowance
                        }
                    }
                }
                continue
            }
            let exceeded = report.withLock { report -> Bool in
                report.rssSamples += 1
                report.peakRSS = max(report.peakRSS, rss)
                report.peakHeap = max(report.peakHeap, heap)
                return report.heapBound > 0 ? heap > report.heapBound : rss > base + configuration.rssAllowance
            }
            if exceeded && configuration.boundsMemory {
                if let allowance = configuration.heapAllowance {
                    violation("memory-bound", "heap in use \(heap >> 20) MiB above the bound \((report.withLock { $0.warmUpHeap } + allowance) >> 20) MiB")
                } else {
                    violation("memory-bound", "RSS \(rss >> 20) MiB above the bound \((base + configuration.rssAllowance) >> 20) MiB")
                }
            }
        }
    }

    func reportProgress(from start: ContinuousClock.Instant) async {
        guard let progress = configuration.progress else { return }
        let clock = ContinuousClock()
        while !finished.load(ordering: .relaxed) {
            do { try await Pace.pause(configuration.progressInterval) } catch { return }  // reporting rate
            let r = report.withLock { $0 }
            progress(
                "t=\((clock.now - start).components.seconds)s requests=\(r.requests) acked=\(r.acknowledgedWrites) reads=\(r.successfulReads) faults=\(r.totalFaults) errors=\(r.errors) cancelled=\(r.cancelledRequests) violations=\(r.violations) rss=\(ChaosSoak.residentMemory() >> 20)MiB heap=\(sessionkit_heap_in_use() >> 20)MiB")
        }
    }
}

/// One simulated user.
struct SoakUser: Sendable {
    let index: Int
    let marker: String
    let browser = TestBrowser()
    var random: SoakRandom
    /// The highest counter value written so far (acknowledged or not).
    var attempted = 0
    /// The last acknowledged counter value (0: none yet).
    var acknowledged = 0
    /// The restart epoch the last acknowledged write lies wholly in; nil when a restart began
    /// while it ran.
    var acknowledgedEpoch: Int?
    var hung = false
    /// How the last few writes ended, by counter value, for violation reports.
    var outcomes: [(value: Int, outcome: String)] = []

    mutating func record(_ value: Int, _ outcome: String) {
        if outcomes.count == 16 { outcomes.removeFirst() }
        outcomes.append((value, outcome))
    }

    /// How the write of `value` ended, when it was one of the last few.
    func outcome(of value: Int) -> String {
        outcomes.last { $0.value == value }?.outcome ?? "not recent"
    }

    init(index: Int, seed: UInt64) {
        self.index = index
        self.random = SoakRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        var system = SystemRandomNumberGenerator()
        self.marker = "u\(index)-" + String(system.next(), radix: 16) + String(system.next(), radix: 16)
    }
}

/// What a request found in the session before changing it.
struct SoakObservation: Sendable {
    var marker: String?
    var owner: Int?
    var counter: Int?
}

/// SplitMix64: a small, seedable generator for the soak's random choices.
struct SoakRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Waits for a task's value, but no longer than a limit.
enum SoakDeadline {
    final class Slot<T: Sendable>: Sendable {
        let continuation = Mutex<CheckedContinuation<T?, Never>?>(nil)
        func resume(_ value: T?) {
            continuation.withLock { current -> CheckedContinuation<T?, Never>? in
                defer { current = nil }
                return current
            }?.resume(returning: value)
        }
    }

    /// The task's value, or nil when it is still running after `limit` (it keeps running).
    static func wait<T: Sendable>(for task: Task<T, Never>, limit: Duration) async -> T? {
        let slot = Slot<T>()
        return await withCheckedContinuation { continuation in
            slot.continuation.withLock { $0 = continuation }
            let timer = Task {
                do { try await HangGuard.expiry(limit) } catch { return }
                slot.resume(nil)
            }
            Task {
                let value = await task.value
                timer.cancel()
                slot.resume(value)
            }
        }
    }
}
