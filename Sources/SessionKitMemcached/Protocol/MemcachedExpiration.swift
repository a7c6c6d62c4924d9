#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How memcached's `exptime` field is computed from a time to live.
///
/// memcached reads `exptime` as: `0` never expires; `1...2,592,000` (30 days) seconds from now;
/// anything larger an absolute Unix time; a negative value expires at once. So a TTL over 30
/// days must be sent as `now + ttl`, or the server would read it as a date in 1970 and expire
/// the item immediately; this type never turns a TTL into 0 ("never") or into "expire now".
public enum MemcachedExpiration {
    /// The largest relative `exptime`: 30 days in seconds.
    public static let maximumRelative = 2_592_000

    /// The largest absolute `exptime` memcached can parse (`Int32.max`, January 2038).
    public static let maximumAbsolute = Int64(Int32.max)

    /// The `exptime` for a time to live.
    ///
    /// - Parameters:
    ///   - ttl: seconds to live; `nil` never expires; zero or less has already expired.
    ///   - now: the current Unix time in seconds (used only for TTLs over 30 days).
    /// - Returns: `0` for `nil`, `-1` for a TTL that has already run out, the TTL itself up to
    ///   30 days, `now + ttl` above
    ///   (at most ``maximumAbsolute``).
    public static func exptime(ttl: Int?, now: Int = currentUnixTime()) -> Int64 {
        guard let ttl else { return 0 }
        if ttl <= 0 { return -1 }
        if ttl <= maximumRelative { return Int64(ttl) }
        // memcached parses exptime as a 32-bit signed number: clamp at its largest date (2038)
        // rather than overflow into the past.
        let (sum, overflow) = Int64(now).addingReportingOverflow(Int64(ttl))
        return overflow ? maximumAbsolute : min(sum, maximumAbsolute)
    }

    /// The wall-clock Unix time in whole seconds.
    public static func currentUnixTime() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec)
    }
}
