/// Why a TLS connection could not be made or went wrong, with the cause and what to change.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Reason: Sendable, Hashable {
        /// The server's certificate does not lead to a trusted CA.
        case unknownCertificateAuthority
        /// The server's certificate does not name the host (or IP address) connected to.
        case hostnameMismatch
        /// The server's certificate has expired.
        case certificateExpired
        /// The server's certificate is not valid yet.
        case certificateNotYetValid
        /// Another verification failure (revoked, wrong purpose, bad signature...).
        case certificateRejected
        /// The server answered, but not in TLS: a plain port at a TLS URL.
        case serverNotSpeakingTLS
        /// The server closed the connection during the handshake.
        case closedDuringHandshake
        /// The server asked for a client certificate and none was given, or refused it.
        case clientCertificateRequired
        /// The handshake failed for another reason (no common protocol version or cipher...).
        case handshakeFailed
        /// The connection closed without TLS's close_notify: the data may be cut short.
        case truncated
        /// The configuration cannot be used (a CA file that cannot be read, a key that does
        /// not match its certificate...).
        case invalidConfiguration
        /// A TLS record was malformed after the handshake.
        case protocolError
    }

    /// The kind of failure.
    public let reason: Reason
    /// What happened and what to change.
    public let description: String

    package init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }
}
