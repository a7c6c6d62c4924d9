#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The secured path of a Connection: the transport's handshake, reads and writes through the
// transport, and its goodbye. Loop thread only. A connection without a transport never comes
// here (see ConnectionTransport).
extension Connection {
    /// Feeds the handshake what the socket read and sends its answer; opens the connection
    /// when it completes.
    func advanceHandshake(received: UnsafeRawBufferPointer) {
        guard let transport else { return }
        let done: Bool
        do {
            done = try transport.handshake(received: received, output: &writeQueue)
        } catch {
            closeNow(error)
            return
        }
        writePending()
        guard done, phase == .handshaking else { return }
        phase = .open
        connectTimer?.cancel()
        connectTimer = nil
        let continuation = connectContinuation
        connectContinuation = nil
        continuation?.resume()
        flush()
    }

    /// Sends what the protocol appended to the outbound buffer through the transport.
    func flushSecured(_ transport: any ConnectionTransport) {
        outbound.withLock { state in
            state.flushScheduled = false
            swap(&plaintextOut, &state.buffer)
        }
        var failure: NetworkError?
        plaintextOut.withUnsafeBytes { plaintext in
            do throws(NetworkError) {
                try transport.send(plaintext, output: &writeQueue)
            } catch {
                failure = error
            }
        }
        if let failure {
            closeNow(failure)
            return
        }
        if plaintextOut.capacity > 1 << 20 { plaintextOut = [] } else { plaintextOut.removeAll(keepingCapacity: true) }
        writePending()
    }

    /// Reads through the transport: handshake bytes while handshaking, then records whose
    /// plaintext goes to the delegate.
    func readSecured() {
        guard let transport else { return }
        let buffer = loop.readBuffer
        for _ in 0..<4 {
            let count = read(fileDescriptor, buffer.baseAddress, buffer.count)
            if count > 0 {
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                if phase == .handshaking {
                    advanceHandshake(received: bytes)
                    // Records that came with the handshake's last flight wait in the transport.
                    if phase == .open { deliverSecured(UnsafeRawBufferPointer(start: nil, count: 0), transport) }
                } else {
                    deliverSecured(bytes, transport)
                }
                guard phase == .open || phase == .handshaking else { return }
                if count < buffer.count { return }
                continue
            }
            if count == 0 {
                closeNow(transport.closedByPeer())
                return
            }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return }
            closeNow(explained(NetworkError.system("read from \(address.display) failed", errno: err), errno: err))
            return
        }
    }

    /// `failure`, or the transport's explanation of it: a reset can cut off the TLS alert that
    /// said why the server hung up, and the transport may know the cause anyway.
    func explained(_ failure: NetworkError, errno err: Int32) -> NetworkError {
        guard let transport, err == ECONNRESET || err == EPIPE else { return failure }
        let known = transport.closedByPeer()
        return known.code == .tlsFailed ? NetworkError(.tlsFailed, "\(known.message) (\(failure.message))") : failure
    }

    /// Hands `bytes` to the transport and its plaintext to the delegate; sends what the
    /// transport answers; closes when the peer ended TLS.
    func deliverSecured(_ bytes: UnsafeRawBufferPointer, _ transport: any ConnectionTransport) {
        let stillOpen: Bool
        do {
            stillOpen = try transport.receive(bytes, plaintext: &plaintextIn, output: &writeQueue)
        } catch {
            closeNow(error)
            return
        }
        if !plaintextIn.isEmpty {
            plaintextIn.withUnsafeBytes { delegate?.connection(self, didRead: $0) }
            if plaintextIn.capacity > 1 << 20 { plaintextIn = [] } else { plaintextIn.removeAll(keepingCapacity: true) }
        }
        guard phase == .open else { return }
        if writeOffset < writeQueue.count { writePending() }
        if !stillOpen, phase == .open {
            closeNow(NetworkError(.connectionClosed, "\(address.display) ended the TLS session (close_notify)"))
        }
    }

    /// Appends the transport's goodbye (close_notify) before a local close and sends it, as far
    /// as the socket takes it now.
    func sayGoodbye(_ transport: any ConnectionTransport) {
        transport.closeOutput(&writeQueue)
        if writeOffset < writeQueue.count {
            _ = writeQueue.withUnsafeBytes { raw in
                send(fileDescriptor, raw.baseAddress! + writeOffset, raw.count - writeOffset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
        }
    }
}
