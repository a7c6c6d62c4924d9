/// How replies appear in error messages: by kind and size, never by content (a reply can hold
/// a session's data, and its key holds a session ID).
extension MemcachedReply {
    /// The reply's kind and size, for error messages: `"2 items"`, `"SERVER_ERROR (28 bytes of
    /// text withheld)"`, `"a VA meta reply with a 312-byte value"`. The text of the error
    /// replies is withheld too: memcached does not quote keys in it today, but a server or a
    /// proxy that does must not leak one into a log.
    var redactedDescription: String {
        switch self {
        case .values(let items): return items.count == 1 ? "1 item" : "\(items.count) items"
        case .stored: return "STORED"
        case .notStored: return "NOT_STORED"
        case .exists: return "EXISTS"
        case .notFound: return "NOT_FOUND"
        case .deleted: return "DELETED"
        case .touched: return "TOUCHED"
        case .ok: return "OK"
        case .number: return "a number"
        case .version(let text): return "VERSION (\(Self.withheld(text)))"
        case .error(let text): return "ERROR (\(Self.withheld(text)))"
        case .clientError(let text): return "CLIENT_ERROR (\(Self.withheld(text)))"
        case .serverError(let text): return "SERVER_ERROR (\(Self.withheld(text)))"
        case .meta(let meta):
            let value = meta.value.map { " with a \($0.count)-byte value" } ?? ""
            return "a \(meta.status.rawValue) meta reply\(value)"
        }
    }

    private static func withheld(_ text: String) -> String {
        text.isEmpty ? "no text" : "\(text.utf8.count) bytes of text withheld"
    }
}
