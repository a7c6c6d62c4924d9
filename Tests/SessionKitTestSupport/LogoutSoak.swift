import Foundation
import SessionKit
import Synchronization

/// A soak of logouts and revocations against a real server behind a ``FaultProxy``, while the
/// server is restarted, frozen and its connections reset or stalled.
///
/// Each simulated user, in a loop: logs in (`regenerateID`, `bindUser`), starts a request of
/// its session that loads it and, for half of the rounds, waits in the handler until the
/// logout below was answered (the other half race it freely), logs out, lets the held request
/// change the session and commit, and then reads with a copy of the logged-out cookie. An
/// admin task meanwhile revokes random users (`revokeAllSessions(ofUser:)`) and reads with
/// every cookie of that user whose login was answered before the revocation began.
///
/// A read that finds the user after an answered logout or revocation is a resurrection. Errors
/// (the store down, deadlines) are counted and retried, never taken for a result.
public enum LogoutSoak {
    public struct Configuration: Sendable {
        public var store: ChaosSoak.StoreKind
        public var duration: Duration
        public var users: Int
        public var seed: UInt64
        /// The store client's connect and command timeout.
        public var clientTimeout: Duration
        /// Whether to inject faults (restarts, freezes, resets, stalls).
        public var faults: Bool
        /// The run goes on past ``duration`` (up to ``maximumDuration``) until this many
        /// logouts and revocations were answered, so that a loaded machine still checks something.
        public var minimumLogouts = 0
        public var minimumRevocations = 0
        public var maximumDuration: Duration = .seconds(120)

        public init(store: ChaosSoak.StoreKind, duration: Duration, users: Int = 40, seed: UInt64 = 1, faults: Bool = true) {
            self.store = store
            self.duration = duration
            self.users = users
            self.seed = seed
            self.clientTimeout = .seconds(1)
            self.faults = faults
        }
    }

    public struct Report: Sendable {
        public var store: ChaosSoak.StoreKind
        public var seconds = 0
        /// Logouts that were answered.
        public var logouts = 0
        /// Revocations that were answered.
        public var revocations = 0
        /// Reads with an ended session's cookie that were answered.
        public var probes = 0
        /// Of those, reads that found the user: sessions brought back.
        public var resurrected = 0
        /// Held requests whose commit reported the session discarded.
        public var discarded = 0
        public var faults = 0
        public var errors = 0
        /// What the first resurrections looked like (the path, and what the session held).
        public var details: [String] = []

        /// `RESULT logout store=<s> logouts=<n> revocations=<n> resurrected=<n> ...`
        public var resultLine: String {
            "RESULT logout store=\(store.rawValue) seconds=\(seconds) logouts=\(logouts) revocations=\(revocations) probes=\(probes) resurrected=\(resurrected) discarded=\(discarded) faults=\(faults) errors=\(errors)"
        }
    }

    /// Makes the middleware under test from the proxy's port and the client timeout.
    public typealias Factory = @Sendable (_ port: Int, _ clientTimeout: Duration) throws -> ChaosSoak.Target

    public static func run(_ configuration: Configuration, factory: Factory) async throws -> Report {
        let restart: @Sendable () async throws -> Void
        let stopServer: @Sendable () -> Void
        let suspend: @Sendable () -> Void
        let resume: @Sendable () -> Void
        let port: Int
        switch configuration.store {
        case .redis:
            // Acknowledged deletes are on disk before the reply: a restart cannot undo a logout.
            let redis = try await RedisServer.start(RedisServer.Options(extraArguments: ["--appendonly", "yes", "--appendfsync", "always"]))
            (port, restart, stopServer, suspend, resume) = (redis.port, { try await redis.restart() }, { redis.stop() }, { redis.suspend() }, { redis.resume() })
        case .memcached:
            let memcached = try await MemcachedServer.start()
            (port, restart, stopServer, suspend, resume) = (
                memcached.port, { try await memcached.restart() }, { memcached.stop() }, { memcached.suspend() }, { memcached.resume() }
            )
        }
        defer {
            resume()
            stopServer()
        }
        let proxy = try FaultProxy(upstreamPort: port)
        defer { proxy.stop() }
        let target = try factory(proxy.port, configuration.clientTimeout)
        defer { target.close() }
        let middleware = target.middleware
        let shared = Shared(store: configuration.store)
        let start = ContinuousClock.now
        let deadline = start + configuration.duration
        let hardDeadline = start + max(configuration.duration, configuration.maximumDuration)
        /// Whether the run goes on: until the duration, then until the minimums are met.
        @Sendable func running() -> Bool {
            let now = ContinuousClock.now
            if now < deadline { return true }
            guard now < hardDeadline else { return false }
            return shared.report.withLock {
                $0.logouts < configuration.minimumLogouts || $0.revocations < configuration.minimumRevocations
            }
        }
        @Sendable func tick() -> UInt64 { shared.tick() }

        /// Reads `user` with `headers` until a read is answered (bounded); true when it found the user.
        @Sendable func probe(_ headers: [String], user: String, what: String) async -> Bool? {
            for _ in 0..<50 {
                do {
                    let data = try await middleware.handle(cookieHeaders: headers) { try await $0.session().data }.value
                    let found = data["user"]?.stringValue == user
                    if found {
                        let keys = data.keys.sorted().joined(separator: ",")
                        shared.report.withLock {
                            if $0.details.count < 10 { $0.details.append("\(what) user=\(user) keys=\(keys) n=\(data["n"].map { "\($0)" } ?? "-")") }
                        }
                    }
                    return found
                } catch {
                    shared.report.withLock { $0.errors += 1 }
                    await Task.yield()
                }
                if ContinuousClock.now > hardDeadline + .seconds(30) { break }
            }
            return nil
        }

        await withTaskGroup(of: Void.self) { group in
            for index in 0..<configuration.users {
                group.addTask {
                    var random = SoakRandom(seed: configuration.seed &+ UInt64(index) &* 7919)
                    let user = "u\(index)"
                    var round = 0
                    while running() {
                        round += 1
                        let browser = TestBrowser()
                        do {
                            _ = try await browser.request(middleware) { context in
                                let session = try await context.session()
                                try session.regenerateID()
                                try session.bindUser(user, device: "round \(round)")
                                session["user"] = .string(user)
                            }
                        } catch {
                            shared.report.withLock { $0.errors += 1 }
                            continue
                        }
                        let copy = browser.cookieHeaders
                        guard !copy.isEmpty else { continue }
                        shared.cookies.withLock { $0[index, default: []].append((copy, tick())) }
                        let holds = random.next() & 1 == 0
                        let loaded = Gate()
                        let loggedOut = Gate()
                        let held = Task { [round] () -> Bool in
                            defer { loaded.open() }
                            do {
                                let result = try await middleware.handle(cookieHeaders: copy) { context in
                                    let session = try await context.session()
                                    _ = session["user"]
                                    loaded.open()
                                    if holds { await loggedOut.wait() }
                                    session["n"] = .int(round)
                                }
                                return !result.discardedSessions.isEmpty
                            } catch {
                                shared.report.withLock { $0.errors += 1 }
                                return false
                            }
                        }
                        if holds { await loaded.wait() }
                        var answered = false
                        do {
                            _ = try await browser.request(middleware) { try await $0.session().invalidate() }
                            answered = true
                        } catch {
                            shared.report.withLock { $0.errors += 1 }
                        }
                        loggedOut.open()
                        if await held.value { shared.report.withLock { $0.discarded += 1 } }
                        guard answered else { continue }
                        shared.report.withLock { $0.logouts += 1 }
                        if let found = await probe(copy, user: user, what: "logout round=\(round) held=\(holds)") {
                            shared.report.withLock {
                                $0.probes += 1
                                if found { $0.resurrected += 1 }
                            }
                        }
                    }
                }
            }
            // The admin: revokes random users and checks every cookie answered before it began.
            group.addTask {
                var random = SoakRandom(seed: configuration.seed &+ 0xAD)
                while running() {
                    let index = Int(random.next() % UInt64(configuration.users))
                    let before = tick()
                    let earlier = shared.cookies.withLock { cookies -> [[String]] in
                        let list = cookies[index, default: []]
                        cookies[index] = Array(list.suffix(4))
                        return list.filter { $0.answered < before }.map(\.headers)
                    }
                    do {
                        _ = try await middleware.revokeAllSessions(ofUser: "u\(index)")
                    } catch {
                        shared.report.withLock { $0.errors += 1 }
                        continue
                    }
                    shared.report.withLock { $0.revocations += 1 }
                    for headers in earlier {
                        if let found = await probe(headers, user: "u\(index)", what: "revocation") {
                            shared.report.withLock {
                                $0.probes += 1
                                if found { $0.resurrected += 1 }
                            }
                        }
                    }
                    try? await Pace.pause(.milliseconds(20))
                }
            }
            // Faults.
            if configuration.faults {
                group.addTask {
                    var random = SoakRandom(seed: configuration.seed &+ 0xFA)
                    while running() {
                        try? await Pace.pause(.milliseconds(200 + Int(random.next() % 500)))
                        guard running() else { break }
                        switch random.next() % 4 {
                        case 0:
                            proxy.resetAllConnections()
                        case 1:
                            proxy.setStalled(true)
                            try? await Pace.pause(.milliseconds(300 + Int(random.next() % 400)))
                            proxy.setStalled(false)
                        case 2:
                            suspend()
                            try? await Pace.pause(.milliseconds(200 + Int(random.next() % 400)))
                            resume()
                        default:
                            do { try await restart() } catch { shared.report.withLock { $0.errors += 1 } }
                        }
                        shared.report.withLock { $0.faults += 1 }
                    }
                    proxy.setStalled(false)
                    resume()
                }
            }
        }
        var final = shared.report.withLock { $0 }
        final.seconds = Int((ContinuousClock.now - start).components.seconds)
        return final
    }
}

/// The soak's shared state.
private final class Shared: Sendable {
    let report: Mutex<LogoutSoak.Report>
    let cookies = Mutex<[Int: [(headers: [String], answered: UInt64)]]>([:])
    let clock = Atomic<UInt64>(0)

    init(store: ChaosSoak.StoreKind) { report = Mutex(LogoutSoak.Report(store: store)) }

    func tick() -> UInt64 { clock.wrappingAdd(1, ordering: .relaxed).newValue }
}
