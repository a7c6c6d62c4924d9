import SessionKit
import Synchronization

/// A clock that moves only when told to, for lifetime tests without waiting.
public final class ManualClock: Sendable {
    private let time: Mutex<Double>

    public init(_ start: Double = 1_700_000_000) { time = Mutex(start) }

    /// The current time.
    public var now: Double { time.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by seconds: Double) { time.withLock { $0 += seconds } }

    /// A ``SessionClock`` reading this clock.
    public var clock: SessionClock { SessionClock { [self] in now } }
}
