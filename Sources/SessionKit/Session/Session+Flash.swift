/// Flash messages: pyramid's queues of messages shown on a later request, kept under
/// `_f_<queue>` keys.
extension Session {
    /// Appends `message` to a flash queue, to be shown on a later request.
    ///
    /// - Parameters:
    ///   - message: the message to show later.
    ///   - queue: the queue's name; `""` is the default queue. Stored under `_f_<queue>`.
    ///   - allowDuplicate: when `false`, a message already in the queue is not added again.
    public func flash(_ message: SessionValue, queue: String = "", allowDuplicate: Bool = true) {
        let key = Session.flashPrefix + queue
        state.withLock {
            $0.isAccessed = true
            var messages = $0.data[key]?.arrayValue ?? []
            if !allowDuplicate && messages.contains(message) { return }
            messages.append(message)
            $0.assign(key, .array(messages))
        }
    }

    /// Removes and returns the messages of a flash queue (empty when there are none).
    public func popFlash(queue: String = "") -> [SessionValue] {
        let key = Session.flashPrefix + queue
        return state.withLock {
            $0.isAccessed = true
            guard let value = $0.data[key] else { return [] }
            $0.assign(key, nil)
            return value.arrayValue ?? [value]
        }
    }

    /// Returns the messages of a flash queue without removing them.
    public func peekFlash(queue: String = "") -> [SessionValue] {
        let key = Session.flashPrefix + queue
        return state.withLock {
            $0.isAccessed = true
            guard let value = $0.data[key] else { return [] }
            return value.arrayValue ?? [value]
        }
    }
}
