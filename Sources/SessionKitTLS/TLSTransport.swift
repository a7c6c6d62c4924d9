@_spi(Engine) import SessionKitNetworking

/// The connection engine's TLS filter for one connection: a ``TLSClientSession`` driven by the
/// connection's event loop (handshake, records in and out, close_notify).
final class TLSTransport: ConnectionTransport {
    private let session: TLSClientSession

    init(session: TLSClientSession) {
        self.session = session
    }

    func handshake(received: UnsafeRawBufferPointer, output: inout [UInt8]) throws(NetworkError) -> Bool {
        session.receive(received)
        defer { session.takeOutgoing(into: &output) }
        do {
            return try session.handshake()
        } catch {
            throw NetworkError(.tlsFailed, error.description)
        }
    }

    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8]) throws(NetworkError) -> Bool {
        session.receive(bytes)
        defer { if session.hasOutgoing { session.takeOutgoing(into: &output) } }
        do {
            return try session.read(into: &plaintext)
        } catch {
            throw NetworkError(.tlsFailed, error.description)
        }
    }

    func send(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(NetworkError) {
        do {
            try session.write(plaintext)
        } catch {
            throw NetworkError(.tlsFailed, error.description)
        }
        session.takeOutgoing(into: &output)
    }

    func closeOutput(_ output: inout [UInt8]) {
        session.closeNotify()
        session.takeOutgoing(into: &output)
    }

    func closedByPeer() -> NetworkError {
        let error = session.closedByServer()
        // After the handshake a server that goes away is a lost connection like any other,
        // unless TLS knows why it went.
        let lost = session.isHandshakeComplete && error.reason == .truncated
        return NetworkError(lost ? .connectionClosed : .tlsFailed, error.description)
    }

    func handshakeTimedOut() -> NetworkError {
        NetworkError(.tlsFailed, session.handshakeTimedOut().description)
    }
}

/// Makes the TLS filter of each connection of one client from its shared ``TLSContext``.
struct TLSTransportFactory: TransportFactory {
    let context: TLSContext

    func makeTransport(for endpoint: Endpoint, serverDescription: String) throws(NetworkError) -> any ConnectionTransport {
        let host: String
        switch endpoint {
        case .tcp(let name, _): host = name
        case .unix: host = "localhost"
        }
        do {
            return TLSTransport(session: try TLSClientSession(context: context, host: host, serverDescription: serverDescription))
        } catch {
            throw NetworkError(.tlsFailed, error.description)
        }
    }
}
