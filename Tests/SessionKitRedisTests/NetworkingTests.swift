@_spi(Engine) import SessionKitNetworking
import Synchronization
import Testing

@Suite("Networking primitives")
struct NetworkingTests {
    @Test("backoff doubles up to the cap, with jitter in [ceiling/2, ceiling]")
    func backoff() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.ceiling(attempt: 0) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 1) == .milliseconds(200))
        #expect(backoff.ceiling(attempt: 3) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 4) == .seconds(1))
        #expect(backoff.ceiling(attempt: 1000) == .seconds(1))
        var generator = SplitMix64(seed: 3)
        var distinct = Set<Duration>()
        for attempt in 0..<50 {
            let delay = backoff.delay(attempt: attempt % 6, using: &generator)
            let ceiling = backoff.ceiling(attempt: attempt % 6)
            #expect(delay <= ceiling && delay >= ceiling / 2)
            distinct.insert(delay)
        }
        #expect(distinct.count > 10, "delays are jittered")
    }

    @Test("deadlines are monotonic and clamp")
    func deadlines() {
        let now = Deadline.now()
        #expect(now.advanced(by: .seconds(1)) > now)
        #expect(now.advanced(by: .seconds(-1)) < now)
        #expect(Deadline(uptimeNanoseconds: 5).advanced(by: .seconds(-10)).uptimeNanoseconds == 0)
        #expect(now.advanced(by: .seconds(Int64.max)) == .distantFuture)
        #expect(Deadline.after(.seconds(-1)).hasPassed)
        #expect(!Deadline.after(.seconds(60)).hasPassed)
    }

    @Test("timers fire on the loop; cancelled timers do not")
    func timers() async throws {
        let loop = EventLoop.shared
        let fired = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    loop.schedule(at: .after(.milliseconds(5))) {
                        continuation.resume(returning: loop.inEventLoop)
                    }
                }
            }
            return try await group.next()!
        }
        #expect(fired)
        let cancelledFired = Mutex(false)
        let cancelled = loop.schedule(at: .after(.milliseconds(20))) { cancelledFired.withLock { $0 = true } }
        #expect(cancelled.cancel(), "cancel() reports that the timer had not fired")
        // A timer due later: the loop runs due timers in deadline order, so when this one fires
        // the cancelled one's moment has passed, and it would have run first.
        let sawCancelledFire = await withCheckedContinuation { continuation in
            loop.schedule(at: .after(.milliseconds(40))) { continuation.resume(returning: cancelledFired.withLock { $0 }) }
        }
        #expect(!sawCancelledFire, "a cancelled timer does not fire")
        #expect(!cancelled.cancel(), "a second cancel() has nothing to stop")
    }

    @Test("connecting to a closed port fails with connectionRefused")
    func refused() async throws {
        final class Sink: ConnectionDelegate {
            func connection(_ connection: Connection, didRead bytes: UnsafeRawBufferPointer) {}
            func connection(_ connection: Connection, didCloseWith error: NetworkError?) {}
        }
        // Port 1 on loopback is essentially never open.
        let error = await #expect(throws: NetworkError.self) {
            _ = try await Connection.connect(to: .tcp(host: "127.0.0.1", port: 1), timeout: .seconds(2), delegate: Sink())
        }
        #expect(error?.code == .connectionRefused)
        let missing = await #expect(throws: NetworkError.self) {
            _ = try await Connection.connect(to: .unix(path: "/nonexistent/sessionkit.sock"), timeout: .seconds(2), delegate: Sink())
        }
        #expect(missing?.code == .connectionRefused)
        let unresolvable = await #expect(throws: NetworkError.self) {
            _ = try await Connection.connect(to: .tcp(host: "no-such-host.invalid", port: 6379), timeout: .seconds(5), delegate: Sink())
        }
        #expect(unresolvable?.code == .resolutionFailed)
    }
}
