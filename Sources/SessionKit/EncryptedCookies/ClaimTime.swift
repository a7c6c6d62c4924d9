/// The date-time form of PASETO's time claims (`iat`, `exp`, `nbf`): RFC 3339 / ISO 8601,
/// for example `2025-06-15T14:13:20+00:00`.
enum ClaimTime {
    /// The length of ``format(_:)``'s text.
    static let textLength = 25
    /// The first and last seconds whose year has four digits (0001-01-01 to 9999-12-31).
    static let representable = -62_135_596_800...253_402_300_799

    /// `seconds` since 1970 in UTC as `YYYY-MM-DDTHH:MM:SS+00:00` (what Python's
    /// `datetime.isoformat()` writes for a UTC time in whole seconds), clamped to years 0001
    /// to 9999.
    static func format(_ seconds: Int) -> String {
        String(unsafeUninitializedCapacity: textLength) { buffer in
            write(seconds, to: UnsafeMutableRawPointer(buffer.baseAddress!))
            return textLength
        }
    }

    /// Writes ``format(_:)``'s ``textLength`` bytes to `out`.
    static func write(_ seconds: Int, to out: UnsafeMutableRawPointer) {
        let seconds = min(max(seconds, representable.lowerBound), representable.upperBound)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func digits(_ value: Int, _ count: Int, at offset: Int) {
            var value = value
            for i in stride(from: offset + count - 1, through: offset, by: -1) {
                out.storeBytes(of: UInt8(truncatingIfNeeded: 0x30 + value % 10), toByteOffset: i, as: UInt8.self)
                value /= 10
            }
        }
        func put(_ c: Unicode.Scalar, at offset: Int) { out.storeBytes(of: UInt8(ascii: c), toByteOffset: offset, as: UInt8.self) }
        digits(year, 4, at: 0)
        put("-", at: 4)
        digits(month, 2, at: 5)
        put("-", at: 7)
        digits(day, 2, at: 8)
        put("T", at: 10)
        digits(secondOfDay / 3600, 2, at: 11)
        put(":", at: 13)
        digits(secondOfDay / 60 % 60, 2, at: 14)
        put(":", at: 16)
        digits(secondOfDay % 60, 2, at: 17)
        put("+", at: 19)
        digits(0, 2, at: 20)
        put(":", at: 22)
        digits(0, 2, at: 23)
    }

    /// Parses an RFC 3339 date-time (`T` or `t` between date and time, optional fraction of a
    /// second, `Z`/`z` or a `±HH:MM` offset) into seconds since 1970, or `nil` when `text`
    /// is not one or names an impossible date or time. Years are 0001 to 9999.
    static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for i in start..<(start + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), let hour = digits(11, 2),
            b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60,
            second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start, i - start <= 18 else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Double(seconds) + fraction
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day counted from 1970-01-01.
    static func civil(fromDays z: Int) -> (year: Int, month: Int, day: Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
