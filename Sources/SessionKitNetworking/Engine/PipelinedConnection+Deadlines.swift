/// Deadlines: one event-loop timer per connection, armed for the earliest pending deadline.
///
/// Measured against one timer per command (see Docs/networking.md): no timer object, lock and
/// heap entry per command, and nothing to cancel when a reply arrives.
extension PipelinedConnection {
    /// Makes sure a loop timer fires at the earliest pending deadline, or at the oldest queued
    /// request's (a cancelled one's too), which decides whether the connection is stalled.
    /// Called with the lock held.
    @inlinable
    func armTimer(_ state: inout State) {
        var earliest = state.deadlines.first?.deadline
        if faults.closesStalledConnections, let oldest = state.queue.first?.deadline, earliest.map({ oldest < $0 }) ?? true {
            earliest = oldest
        }
        guard let earliest else { return }
        if let armed = state.timerDeadline, armed <= earliest { return }
        state.timerDeadline = earliest
        loop.schedule(at: Deadline(uptimeNanoseconds: earliest)) { [weak self] in self?.deadlinesPassed() }
    }

    /// The earliest deadline passed: fail every request whose deadline has passed (keeping their
    /// entries in the reply queue).
    ///
    /// The connection is then closed as stalled, so that the client reconnects instead of piling
    /// up more requests behind it, when nothing at all was read since such a request was sent, or
    /// when the oldest request in the queue is past its deadline: its reply, which every later
    /// reply waits behind, did not come in time, however many bytes trickled in meanwhile.
    @usableFromInline
    func deadlinesPassed() {
        let now = Deadline.now().uptimeNanoseconds
        let stallReason = NetworkError(.timeout, "\(label) did not answer a command within the command timeout, so the connection was closed as stalled; a command sent on it may still be run when the server wakes up, so it is not sent again (an error of this kind is not retried); the client reconnects on the next call")
        var failed: [Waiter] = []
        var socket: Connection?
        let expired = state.withLock { state -> [Waiter] in
            if let armed = state.timerDeadline, armed <= now { state.timerDeadline = nil }
            guard state.closed == nil else { return [] }
            var expired: [Waiter] = []
            var stalled = false
            while let first = state.deadlines.first, first.deadline <= now {
                state.deadlines.removeFirst()
                guard let waiter = state.waiters.removeValue(forKey: first.id) else { continue }
                if faults.freesCancelledSlots { state.queue.removeFirst { $0.id == first.id } }
                if waiter.readEpoch == state.readEpoch { stalled = true }
                expired.append(waiter)
            }
            if let oldest = state.queue.first, oldest.deadline <= now { stalled = true }
            if stalled && faults.closesStalledConnections {
                markClosed(&state, stallReason)
                failed = takeWaiters(&state)
                socket = state.connection
            } else {
                armTimer(&state)
            }
            return expired
        }
        if !expired.isEmpty {
            let timeout = NetworkError(.timeout, "\(label) did not answer within the command timeout (\(Int(commandTimeout.milliseconds)) ms); the server may be overloaded, busy with a slow command, or unreachable. Raise commandTimeout if this is expected")
            for waiter in expired { waiter.continuation.resume(throwing: timeout) }
        }
        for waiter in failed { waiter.continuation.resume(throwing: stallReason) }
        socket?.close()
    }
}
