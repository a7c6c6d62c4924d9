import SessionKit
import Synchronization

/// A clock for tests that stands still until it is moved: session lifetimes, idle timeouts and
/// store expiry can be checked without waiting.
///
/// ```swift
/// let clock = TestClock()
/// let interface = try InMemorySessionInterface(configuration: SessionConfiguration(expiry: 60), clock: clock.sessionClock)
/// // ... a request ...
/// clock.advance(by: 61)   // the session has now expired
/// ```
public final class TestClock: Sendable {
    private let time: Mutex<Double>

    /// Creates a clock reading `now` (seconds since the Unix epoch).
    public init(now: Double = 1_700_000_000) {
        time = Mutex(now)
    }

    /// The current time, in seconds since the Unix epoch.
    public var now: Double { time.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: Double) {
        precondition(seconds >= 0, "a TestClock only moves forward")
        time.withLock { $0 += seconds }
    }

    /// A `SessionClock` reading this clock, for interfaces and stores.
    public var sessionClock: SessionClock { SessionClock { [self] in now } }
}
