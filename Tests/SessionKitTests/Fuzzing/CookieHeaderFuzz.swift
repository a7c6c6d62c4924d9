import SessionKit

/// Fuzz target `cookie_header`: ``CookieHeader/values(named:in:limits:)``.
///
/// Input: byte 0 picks the limits (odd: small limits derived from it; even: the defaults);
/// the rest, split at LF, is the cookie name (first line) and the `Cookie` headers.
///
/// Checks: the result equals a separately written reference reading of RFC 6265 pairs under
/// the same limits, in which a pair cut by the byte budget is ignored (never returned
/// truncated); every value has no `;`, fits `maximumValueBytes` and occurs whole in the
/// headers; with limits large enough for the input, reading the headers together equals
/// reading each one alone, and a pair `name=value` appended to a header is found.
enum CookieHeaderFuzz {
    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        guard let control = data.first else { return }
        let limits: CookieHeader.Limits =
            control & 1 == 0
            ? .default
            : CookieHeader.Limits(
                maximumHeaderBytes: Int(control >> 1) % 48, maximumCookies: Int(control >> 4) + 1,
                maximumValueBytes: Int(control >> 2) % 12)
        let lines = data.dropFirst().split(separator: 0x0A, omittingEmptySubsequences: false)
        let name = String(decoding: lines.first ?? [], as: UTF8.self)
        let headers = lines.dropFirst().map { String(decoding: $0, as: UTF8.self) }

        let values = CookieHeader.values(named: name, in: headers, limits: limits)
        let expected = reference(name: name, headers: headers, limits: limits)
        try fuzzCheck(
            values.map { Array($0.utf8) } == expected.map { Array($0.utf8) },
            "values(named: \(name.debugDescription)) = \(values.map(\.debugDescription)), reference gives \(expected.map(\.debugDescription))")
        for value in values {
            try fuzzCheck(!value.utf8.contains(UInt8(ascii: ";")), "value \(value.debugDescription) contains ';'")
            try fuzzCheck(value.utf8.count <= limits.maximumValueBytes, "value \(value.debugDescription) is over the value limit")
            try fuzzCheck(headers.contains { contains(Array($0.utf8), Array(value.utf8)) }, "value \(value.debugDescription) is not in any header")
        }

        // Limits that cannot bind: headers are independent of each other.
        let open = CookieHeader.Limits(maximumHeaderBytes: 1 << 40, maximumCookies: 1 << 40, maximumValueBytes: 1 << 40)
        let together = CookieHeader.values(named: name, in: headers, limits: open)
        let oneByOne = headers.flatMap { CookieHeader.values(named: name, in: [$0], limits: open) }
        try fuzzCheck(
            together.map { Array($0.utf8) } == oneByOne.map { Array($0.utf8) },
            "headers read together give \(together), one by one \(oneByOne)")

        // A well-formed pair appended to the last header is found, after the others.
        let cleanName = name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
        guard !cleanName.isEmpty, let last = headers.last else { return }
        let value = "v" + String(control, radix: 16)
        var appended = headers
        appended[appended.count - 1] = last + "; " + cleanName + "=" + value
        let found = CookieHeader.values(named: cleanName, in: appended, limits: open)
        try fuzzCheck(found.last == value, "appended pair \(cleanName)=\(value) not found last: \(found)")
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// The values of the pairs named `name`, as RFC 6265 section 5.4 pairs, under `limits`:
    /// at most `maximumHeaderBytes` bytes over all headers (a pair not complete within them is
    /// ignored) and at most `maximumCookies` pairs.
    static func reference(name: String, headers: [String], limits: CookieHeader.Limits) -> [String] {
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        let wanted = Array(name.utf8)
        var result: [String] = []
        var bytesLeft = limits.maximumHeaderBytes
        var pairCount = 0
        headers: for header in headers {
            guard bytesLeft > 0, pairCount < limits.maximumCookies else { break }
            let bytes = Array(header.utf8)
            let visible = min(bytes.count, bytesLeft)
            bytesLeft -= bytes.count
            var pairStart = 0
            while pairStart < visible {
                guard pairCount < limits.maximumCookies else { break headers }
                let pairEnd = bytes[pairStart...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
                guard pairEnd <= visible else { break headers }  // cut by the byte budget
                pairCount += 1
                var pair = bytes[pairStart..<pairEnd].drop(while: isBlank)
                pairStart = pairEnd + 1
                guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
                var key = pair[..<equals]
                while let lastByte = key.last, isBlank(lastByte) { key.removeLast() }
                guard key.elementsEqual(wanted) else { continue }
                pair = pair[(equals + 1)...].drop(while: isBlank)
                while let lastByte = pair.last, isBlank(lastByte) { pair.removeLast() }
                if pair.count >= 2, pair.first == UInt8(ascii: "\""), pair.last == UInt8(ascii: "\"") {
                    pair = pair.dropFirst().dropLast()
                }
                if pair.count <= limits.maximumValueBytes { result.append(String(decoding: pair, as: UTF8.self)) }
            }
        }
        return result
    }
}
