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
    ///   - maxAge: overrides the configuration's Max-Age (`nil`: use the configuration's).
    ///   - now: the current time in seconds since the Unix epoch, for `Expires`.
    public static func render(
        value: String, configuration: SessionConfiguration, maxAge: Int?? = nil, now: Double
    ) -> String {
        let age: Int? = maxAge ?? configuration.cookieMaxAge
        var out = ""
        out.reserveCapacity(configuration.cookieName.utf8.count + value.utf8.count + 120)
        out += configuration.cookieName
        out += "="
        out += value
        appendAttributes(to: &out, configuration: configuration, maxAge: age, now: now)
        return out
    }

    /// Renders the `Set-Cookie` value that deletes the cookie: empty value, `Max-Age=0`, an
    /// `Expires` in the past, and the same Domain and Path it was set with.
    public static func renderDeletion(configuration: SessionConfiguration) -> String {
        var out = configuration.cookieName + "="
        appendAttributes(to: &out, configuration: configuration, maxAge: 0, now: 0)
        return out
    }

    static func appendAttributes(to out: inout String, configuration: SessionConfiguration, maxAge: Int?, now: Double) {
        if let domain = configuration.domain {
            out += "; Domain="
            out += domain
        }
        out += "; Path="
        out += configuration.path
        if let maxAge {
            out += "; Max-Age="
            out += String(maxAge)
            out += "; Expires="
            // Deletion uses the epoch; otherwise now + Max-Age.
            out += HTTPDate.format(maxAge == 0 ? 0 : Int(now) + maxAge)
        }
        if configuration.secure { out += "; Secure" }
        if configuration.httpOnly { out += "; HttpOnly" }
        if configuration.sameSite != .unspecified {
            out += "; SameSite="
            out += configuration.sameSite.rawValue
        }
        if configuration.partitioned { out += "; Partitioned" }
    }
}

/// IMF-fixdate formatting (RFC 9110 section 5.6.7), always in GMT.
public enum HTTPDate {
    private static let days: [String] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months: [String] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats Unix seconds as `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(_ unixSeconds: Int) -> String {
        let dayNumber = unixSeconds >= 0 ? unixSeconds / 86400 : (unixSeconds - 86399) / 86400
        let secondOfDay = unixSeconds - dayNumber * 86400
        let weekday = days[((dayNumber % 7) + 7) % 7]
        // Civil date from day number (Howard Hinnant's days_from_civil inverse).
        let z = dayNumber + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60

        func two(_ n: Int) -> String { n < 10 ? "0" + String(n) : String(n) }
        var yearText = String(year)
        while yearText.utf8.count < 4 { yearText = "0" + yearText }
        return weekday + ", " + two(day) + " " + months[month - 1] + " " + yearText + " " + two(hour) + ":" + two(minute)
            + ":" + two(second) + " GMT"
    }
}
