#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The wall clock that sessions and stores read, replaceable in tests.
public struct SessionClock: Sendable {
    /// Returns the current time as seconds since the Unix epoch.
    public var now: @Sendable () -> Double {
        didSet { isSystem = false }
    }

    /// Creates a clock from a function returning seconds since the Unix epoch.
    public init(now: @escaping @Sendable () -> Double) {
        self.now = now
        self.isSystem = false
    }

    /// True for ``system`` (and copies whose `now` was not replaced): two parts of a request
    /// that both use it may share one reading.
    private(set) var isSystem: Bool

    private init(system now: @escaping @Sendable () -> Double) {
        self.now = now
        self.isSystem = true
    }

    /// The system's real-time clock.
    public static let system = SessionClock(system: {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    })
}
