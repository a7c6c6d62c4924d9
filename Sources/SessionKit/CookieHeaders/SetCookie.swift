/// Rendering `Set-Cookie` response header values (RFC 6265 section 4.1).
public enum SetCookie {
    /// Renders the `Set-Cookie` value that sets a session cookie.
    ///
    /// `Max-Age` and `Expires` (IMF-fixdate, GMT) come from
    /// ``SessionConfiguration/cookieMaxAge``; a browser-session cookie
    /// (``SessionConfiguration/sessionCookie``) carries neither.
    ///
    /// - Parameters:
    ///   - value: the cookie value; it must consist of cookie-octets (base64url IDs do).
    ///   - configuration: the cookie's attributes.
    ///   - now: the current time in seconds since the Unix epoch, for `Expires`.
    public static func render(value: String, configuration: SessionConfiguration, now: Double) -> String {
        SetCookieTemplate(configuration).render(value: value, now: now)
    }

    /// Renders the `Set-Cookie` value that deletes the cookie: empty value, `Max-Age=0`, an
    /// `Expires` in the past, and the same Domain and Path it was set with.
    public static func renderDeletion(configuration: SessionConfiguration) -> String {
        configuration.cookieName + "=" + location(configuration) + "; Max-Age=0; Expires=" + HTTPDate.format(0)
            + flags(configuration)
    }

    /// `; Domain=...; Path=...`: where the cookie applies.
    static func location(_ configuration: SessionConfiguration) -> String {
        var out = ""
        if let domain = configuration.domain { out += "; Domain=" + domain }
        return out + "; Path=" + configuration.path
    }

    /// `; Secure; HttpOnly; SameSite=...; Partitioned`, as configured.
    static func flags(_ configuration: SessionConfiguration) -> String {
        var out = ""
        if configuration.secure { out += "; Secure" }
        if configuration.httpOnly { out += "; HttpOnly" }
        if configuration.sameSite != .unspecified { out += "; SameSite=" + configuration.sameSite.rawValue }
        if configuration.partitioned { out += "; Partitioned" }
        return out
    }
}

/// IMF-fixdate formatting (RFC 9110 section 5.6.7), always in GMT.
public enum HTTPDate {
    /// The length of every IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static let length = 29
    private static let days: StaticString = "ThuFriSatSunMonTueWed"
    private static let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// Formats Unix seconds as `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(_ unixSeconds: Int) -> String {
        String(unsafeUninitializedCapacity: length) { write(unixSeconds, into: $0, at: 0) }
    }

    /// Writes the date at `offset` (29 bytes) and returns the offset after it.
    static func write(_ unixSeconds: Int, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        // Years 0...9999 only; clamp anything else.
        let seconds = min(max(unixSeconds, -62_135_596_800), 253_402_300_799)
        let dayNumber = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - dayNumber * 86400
        let weekday = ((dayNumber % 7) + 7) % 7
        // Civil date from a day number (the inverse of days_from_civil).
        let z = dayNumber + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let secondOfDayUnsigned = UInt32(truncatingIfNeeded: secondOfDay)
        let hour = secondOfDayUnsigned / 3600, minute = secondOfDayUnsigned / 60 % 60, second = secondOfDayUnsigned % 60

        // Fixed positions: `Sun, 06 Nov 1994 08:49:37 GMT`.
        assert(offset >= 0 && out.count - offset >= length, "no room for an IMF-fixdate")
        let p = out.baseAddress.unsafelyUnwrapped + offset
        let d = days.utf8Start + weekday * 3, m = months.utf8Start + (month - 1) * 3
        p[0] = d[0]
        p[1] = d[1]
        p[2] = d[2]
        p[3] = UInt8(ascii: ",")
        p[4] = UInt8(ascii: " ")
        twoDigits(UInt32(truncatingIfNeeded: day), at: p + 5)
        p[7] = UInt8(ascii: " ")
        p[8] = m[0]
        p[9] = m[1]
        p[10] = m[2]
        p[11] = UInt8(ascii: " ")
        twoDigits(UInt32(truncatingIfNeeded: year / 100), at: p + 12)
        twoDigits(UInt32(truncatingIfNeeded: year % 100), at: p + 14)
        p[16] = UInt8(ascii: " ")
        twoDigits(hour, at: p + 17)
        p[19] = UInt8(ascii: ":")
        twoDigits(minute, at: p + 20)
        p[22] = UInt8(ascii: ":")
        twoDigits(second, at: p + 23)
        p[25] = UInt8(ascii: " ")
        p[26] = UInt8(ascii: "G")
        p[27] = UInt8(ascii: "M")
        p[28] = UInt8(ascii: "T")
        return offset + length
    }

    /// Writes `n` (0...99) as two decimal digits.
    @inline(__always)
    private static func twoDigits(_ n: UInt32, at p: UnsafeMutablePointer<UInt8>) {
        p[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n / 10)
        p[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10)
    }
}

/// A configuration's `Set-Cookie` text, prepared once: rendering a cookie is then one
/// allocation and three memory copies around the value and the date.
struct SetCookieTemplate: Sendable {
    /// `name=`, then `; Domain=...; Path=...; Max-Age=...; Expires=`, then the flags, in one
    /// buffer so that rendering touches a single array.
    let fixed: [UInt8]
    /// The end of `name=` in ``fixed``.
    let headEnd: Int
    /// The end of the location and lifetime attributes in ``fixed``.
    let middleEnd: Int
    let maxAge: Int?
    let deletion: String

    init(_ configuration: SessionConfiguration) {
        let head = Array((configuration.cookieName + "=").utf8)
        maxAge = configuration.cookieMaxAge
        var attributes = SetCookie.location(configuration)
        if let maxAge { attributes += "; Max-Age=" + String(maxAge) + "; Expires=" }
        let middle = Array(attributes.utf8)
        fixed = head + middle + Array(SetCookie.flags(configuration).utf8)
        headEnd = head.count
        middleEnd = head.count + middle.count
        deletion = SetCookie.renderDeletion(configuration: configuration)
    }

    /// The `Set-Cookie` value that sets the cookie to `value` at time `now`.
    func render(value: String, now: Double) -> String {
        var value = value
        let expires = maxAge.map { Int(now) + $0 }
        return value.withUTF8 { v in
            fixed.withUnsafeBufferPointer { f in
                let total = f.count + v.count + (expires == nil ? 0 : HTTPDate.length)
                return String(unsafeUninitializedCapacity: total) { out in
                    let base = out.baseAddress!
                    let fixedBase = f.baseAddress!
                    base.initialize(from: fixedBase, count: headEnd)
                    var o = headEnd
                    if let valueBase = v.baseAddress { (base + o).initialize(from: valueBase, count: v.count) }
                    o += v.count
                    (base + o).initialize(from: fixedBase + headEnd, count: middleEnd - headEnd)
                    o += middleEnd - headEnd
                    if let expires { o = HTTPDate.write(expires, into: out, at: o) }
                    (base + o).initialize(from: fixedBase + middleEnd, count: f.count - middleEnd)
                    return o + f.count - middleEnd
                }
            }
        }
    }
}
