/// What a request expects back, so that a reply of the wrong shape (a sign that the stream
/// is out of step) closes the connection instead of reaching a caller.
enum ReplyExpectation: Sendable {
    /// A get-style reply whose items may only carry these keys, in this order.
    case items([[UInt8]])
    /// A one-line reply (STORED, DELETED, TOUCHED...).
    case line
    /// A meta reply of one of `kind`'s statuses (`nil`: any meta reply, in tests only) carrying
    /// exactly the flag `opaque` (`O<token>`), when the command was sent with one.
    case meta(MetaReplyKind?, opaque: String?)

    func accepts(_ reply: MemcachedReply) -> Bool {
        if reply.isError { return true }
        switch (self, reply) {
        case (.items(let keys), .values(let items)):
            // memcached answers in request order, leaving out misses.
            var next = 0
            for item in items {
                let bytes = Array(item.key.utf8)
                guard let found = keys[next...].firstIndex(of: bytes) else { return false }
                next = found + 1
            }
            return true
        case (.line, .values), (.line, .meta), (.items, _), (.meta, .values): return false
        case (.meta(let kind, let opaque), .meta(let meta)):
            guard let kind else { return true }
            guard kind.accepts(meta.status) else { return false }
            guard let opaque else { return true }
            var found = false
            for flag in meta.flags where flag.utf8.first == UInt8(ascii: "O") {
                guard !found, flag == opaque else { return false }
                found = true
            }
            return found
        case (.meta, _): return false
        case (.line, _): return true
        }
    }

    /// The keys a get reply may carry: the get's keys, none for any other command (a VALUE
    /// block there is already wrong).
    var itemKeys: [[UInt8]] {
        if case .items(let keys) = self { return keys }
        return []
    }
}
