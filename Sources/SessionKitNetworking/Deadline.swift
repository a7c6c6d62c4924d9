#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time on the monotonic clock, in nanoseconds; used for every network deadline.
@_spi(Engine) public struct Deadline: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary, fixed origin (the system's monotonic clock).
    @_spi(Engine) public let uptimeNanoseconds: UInt64

    /// Creates a deadline from a monotonic clock reading.
    @_spi(Engine) public init(uptimeNanoseconds: UInt64) {
        self.uptimeNanoseconds = uptimeNanoseconds
    }

    /// The current time.
    @_spi(Engine) public static func now() -> Deadline {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Deadline(uptimeNanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }

    /// A deadline `duration` from now; negative durations give now.
    @_spi(Engine) public static func after(_ duration: Duration) -> Deadline {
        now().advanced(by: duration)
    }

    /// A deadline that never passes in practice.
    @_spi(Engine) public static let distantFuture = Deadline(uptimeNanoseconds: UInt64.max / 2)

    /// This deadline moved by `duration` (clamped at zero and at ``distantFuture``).
    @_spi(Engine) public func advanced(by duration: Duration) -> Deadline {
        let ns = duration.nanosecondsClamped
        if ns <= 0 {
            let back = UInt64(-ns)
            return Deadline(uptimeNanoseconds: uptimeNanoseconds > back ? uptimeNanoseconds - back : 0)
        }
        let (sum, overflow) = uptimeNanoseconds.addingReportingOverflow(UInt64(ns))
        return overflow || sum > Deadline.distantFuture.uptimeNanoseconds ? .distantFuture : Deadline(uptimeNanoseconds: sum)
    }

    /// Whether the deadline has passed.
    @_spi(Engine) public var hasPassed: Bool { Deadline.now() >= self }

    /// The time left until the deadline, zero if it has passed.
    @_spi(Engine) public var remaining: Duration {
        let now = Deadline.now().uptimeNanoseconds
        return now >= uptimeNanoseconds ? .zero : .nanoseconds(Int64(uptimeNanoseconds - now))
    }

    @_spi(Engine) public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }

    @_spi(Engine) public var description: String { "Deadline(\(uptimeNanoseconds)ns)" }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to the `Int64` range.
    @_spi(Engine) public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (total, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? Int64.min : Int64.max }
        return total
    }

    /// The duration in milliseconds as a `Double`, for messages.
    @_spi(Engine) public var milliseconds: Double { Double(nanosecondsClamped) / 1_000_000 }
}
