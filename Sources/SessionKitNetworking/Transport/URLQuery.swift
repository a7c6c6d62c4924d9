/// The query parameters of a store URL, for the TLS settings a URL carries.
@_spi(Engine) public enum URLQuery {
    /// The parameters after `?` in `url`: names lowercased, names and values percent-decoded
    /// (`+` stays `+`; an undecodable value is kept as written). A later parameter wins.
    @_spi(Engine) public static func parameters(of url: String) -> [String: String] {
        guard let mark = url.firstIndex(of: "?") else { return [:] }
        var query: [String: String] = [:]
        for pair in url[url.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[decoded(parts[0]).lowercased()] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return query
    }

    /// `text` with `%XX` escapes decoded as UTF-8.
    static func decoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1]) {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
