/// A byte filter between one connection's socket and its protocol: TLS, or nothing.
///
/// Plain TCP and Unix sockets have no transport at all (``Connection`` moves the bytes itself,
/// with no call in between); a secured connection gets one transport object, made for it by a
/// ``TransportFactory`` and driven only by the connection's event loop thread, so it needs no
/// locking and must never block.
///
/// The contract every transport honours:
/// - After the socket connects, the loop calls ``handshake(received:output:)`` with nothing,
///   then again with every chunk the socket reads, until it returns `true`. Whatever it appends
///   to `output` goes to the socket. The connect deadline covers the handshake: when it passes,
///   the connection closes with ``handshakeTimedOut()``.
/// - After the handshake, ``receive(_:plaintext:output:)`` turns socket bytes into plaintext for
///   the protocol and ``send(_:output:)`` turns the protocol's plaintext into socket bytes.
/// - ``closeOutput(_:)`` appends the transport's goodbye (TLS's close_notify) before a local close.
/// - Errors are ``NetworkError``s whose message names the cause and the fix.
@_spi(Engine) public protocol ConnectionTransport: AnyObject {
    /// Advances the handshake with `received` (empty on the first call).
    ///
    /// - Returns: `true` once the handshake is complete.
    /// - Throws: ``NetworkError`` (code ``NetworkError/Code/tlsFailed``) naming the cause.
    func handshake(received: UnsafeRawBufferPointer, output: inout [UInt8]) throws(NetworkError) -> Bool

    /// Takes bytes the socket read and appends the plaintext they carry to `plaintext` (and any
    /// bytes the transport must answer with to `output`).
    ///
    /// - Returns: `false` when the peer ended the transport (close_notify).
    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8]) throws(NetworkError) -> Bool

    /// Appends the socket bytes that carry `plaintext` to `output`.
    func send(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(NetworkError)

    /// Appends the transport's goodbye (close_notify) to `output`, before a local close.
    func closeOutput(_ output: inout [UInt8])

    /// The error for a peer that closed the socket: during the handshake, or afterwards
    /// without the transport's goodbye. Also asked when the peer reset the connection: an
    /// error with code ``NetworkError/Code/tlsFailed`` then replaces the reset's own.
    func closedByPeer() -> NetworkError

    /// The error for a handshake that did not finish by the connect deadline.
    func handshakeTimedOut() -> NetworkError
}

/// Makes the ``ConnectionTransport`` of each new connection of one client; built once per
/// client from its ``TransportSecurity`` (for TLS: the loaded trust roots and client certificate).
@_spi(Engine) public protocol TransportFactory: Sendable {
    /// A fresh transport for a connection to `endpoint`.
    ///
    /// - Parameters:
    ///   - endpoint: the server connected to; its host is the name the server must prove.
    ///   - serverDescription: the server, for messages ("Redis at host:port").
    /// - Throws: ``NetworkError`` when the transport cannot be set up.
    func makeTransport(for endpoint: Endpoint, serverDescription: String) throws(NetworkError) -> any ConnectionTransport
}
