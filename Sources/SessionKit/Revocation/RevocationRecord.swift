/// What a cookie interface with a revocation store keeps per user: the user's current
/// revocation token (`""` until their sessions are first revoked) and the nonces of the
/// bound sessions that were logged out since, as JSON `{"t": token, "e": [[nonce, time], ...]}`.
struct RevocationRecord: Sendable {
    /// The most logged-out nonces kept; older ones go first (beyond the absolute lifetime
    /// they are pruned anyway, since their cookies are dead).
    static let maximumEnded = 1024

    var token: String
    var ended: [(nonce: String, at: Double)]

    init(_ bytes: [UInt8]?) {
        token = ""
        ended = []
        guard let bytes, let object = (try? JSON.decode(bytes))?.objectValue else { return }
        token = object["t"]?.stringValue ?? ""
        ended = (object["e"]?.arrayValue ?? []).compactMap { item in
            guard let pair = item.arrayValue, pair.count == 2, let nonce = pair[0].stringValue, let at = pair[1].doubleValue else { return nil }
            return (nonce, at)
        }
    }

    /// The record's bytes, without the logouts older than `lifetime` (their cookies have
    /// ended by themselves) and at most ``maximumEnded`` of them.
    func encoded(now: Double, lifetime: Int?) -> [UInt8] {
        var kept = ended
        if let lifetime { kept.removeAll { now - $0.at > Double(lifetime) } }
        if kept.count > Self.maximumEnded { kept.removeFirst(kept.count - Self.maximumEnded) }
        let value = SessionValue.object([
            "t": .string(token),
            "e": .array(kept.map { .array([.string($0.nonce), .int(Int($0.at))]) }),
        ])
        return (try? JSON.encode(value)) ?? Array("{}".utf8)
    }
}
