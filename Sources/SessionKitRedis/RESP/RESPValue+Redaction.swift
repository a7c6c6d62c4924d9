/// How replies appear in error messages: by kind and size, never by content.
///
/// Error messages get logged, and a reply can hold a session's data or a key with a session ID
/// in it (`session:<id>`); so can the text of an error reply, which Redis fills with the
/// command's arguments (`unknown command 'GETEX', with args beginning with: 'session:…'`).
extension RESPValue {
    /// The reply's kind and size, for error messages: `"a bulk string of 312 bytes"`,
    /// `"an array of 3 elements"`, `"an ERR error reply"`. Never any byte of its content
    /// beyond an error reply's code word.
    var redactedDescription: String {
        switch self {
        case .simpleString(let text): return "a simple string of \(text.utf8.count) bytes"
        case .error(let text): return "an error reply (\(Self.redactedError(text)))"
        case .integer: return "an integer"
        case .bulkString(let bytes): return "a bulk string of \(bytes.count) bytes"
        case .null: return "a null"
        case .array(let values): return "an array of \(values.count) elements"
        case .double: return "a double"
        case .boolean: return "a boolean"
        case .bigNumber(let text): return "a big number of \(text.utf8.count) digits"
        case .verbatimString(_, let text): return "a verbatim string of \(text.count) bytes"
        case .map(let pairs): return "a map of \(pairs.count) pairs"
        case .set(let values): return "a set of \(values.count) elements"
        case .push(let values): return "a push frame of \(values.count) elements"
        }
    }

    /// An error reply's text for error messages: its code word (`ERR`, `WRONGTYPE`, `NOAUTH`,
    /// `MOVED`...: 1 to 16 capital letters before the first space) and the length of the rest,
    /// which is withheld because Redis quotes keys and arguments in it.
    ///
    /// `"ERR unknown command 'X', with args beginning with: 'session:…'"` becomes
    /// `"ERR, 70 more bytes withheld"`.
    static func redactedError(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let word = bytes.prefix { $0 != UInt8(ascii: " ") }
        let rest = bytes.count - word.count
        guard (1...16).contains(word.count), word.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return "no code word, \(bytes.count) bytes withheld"
        }
        let code = String(decoding: word, as: UTF8.self)
        return rest > 1 ? "\(code), \(rest - 1) more bytes withheld" : code
    }
}
