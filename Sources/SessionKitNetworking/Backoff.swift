/// Jittered exponential backoff for reconnect attempts ("equal jitter").
///
/// Attempt `n` (counting from 0) waits a random time between half and all of
/// `min(maximum, initial * 2^n)`, so clients that lost the same server do not come back in step.
@_spi(Engine) public struct Backoff: Sendable, Hashable {
    /// The base delay of the first retry.
    @_spi(Engine) public var initial: Duration
    /// The cap on the delay.
    @_spi(Engine) public var maximum: Duration

    /// Creates a backoff policy.
    @_spi(Engine) public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The un-jittered delay ceiling for attempt `attempt` (0-based).
    @_spi(Engine) public func ceiling(attempt: Int) -> Duration {
        let base = max(initial.nanosecondsClamped, 1)
        let cap = max(maximum.nanosecondsClamped, base)
        let shift = min(max(attempt, 0), 40)
        let (scaled, overflow) = base.multipliedReportingOverflow(by: Int64(1) << shift)
        return .nanoseconds(overflow ? cap : min(scaled, cap))
    }

    /// The jittered delay for attempt `attempt`, drawn from `generator`.
    @_spi(Engine) public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let (half, span) = jitterRange(attempt: attempt)
        return .nanoseconds(half + Int64.random(in: span, using: &generator))
    }

    /// The jittered delay for attempt `attempt`, using the system random number generator.
    @_spi(Engine) public func delay(attempt: Int) -> Duration {
        // Not `delay(attempt:using:)` with a local `SystemRandomNumberGenerator`: the generator is
        // an empty struct, and Thread Sanitizer reports concurrent `inout` accesses to empty
        // values as races on one shared address.
        let (half, span) = jitterRange(attempt: attempt)
        return .nanoseconds(half + Int64.random(in: span))
    }

    /// Half the ceiling, and the random part added to it: `0...(ceiling - half)` nanoseconds.
    private func jitterRange(attempt: Int) -> (half: Int64, span: ClosedRange<Int64>) {
        let ceiling = ceiling(attempt: attempt).nanosecondsClamped
        let half = ceiling / 2
        return (half, 0...(ceiling - half))
    }
}
