import CSessionKitOpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// One client connection's TLS state over memory buffers: the caller moves bytes between the
/// socket and this object, so TLS never blocks and never touches the socket itself. Not
/// thread-safe: one connection's event loop drives it.
///
/// The cycle: ``receive(_:)`` what the socket read, call ``handshake()`` until it returns
/// `true`, then ``read(into:)`` plaintext and ``write(_:)`` plaintext; after each step send
/// what ``takeOutgoing(into:)`` gives. ``closeNotify()`` queues TLS's close_notify.
package final class TLSClientSession {
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private let context: TLSContext
    /// The name the certificate must carry (the host, or ``TLSConfiguration/serverName``).
    package let expectedName: String
    /// The server, for messages ("Redis at host:port").
    package let serverDescription: String
    /// Whether the handshake has completed.
    package private(set) var isHandshakeComplete = false
    /// Whether any plaintext came from the server.
    private var hasReadPlaintext = false
    private var chunk = [UInt8](repeating: 0, count: 16 * 1024)

    /// Starts a client session to `host` (a DNS name or an IP address).
    package init(context: TLSContext, host: String, serverDescription: String) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context), let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            throw TLSError(.invalidConfiguration, "OpenSSL cannot create a TLS session (\(OpenSSLErrors.take()))")
        }
        // The SSL object owns both BIOs from here on.
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_connect_state(ssl)
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context
        self.serverDescription = serverDescription
        let name = context.configuration.serverName ?? Self.unbracketed(host)
        expectedName = name
        let isAddress = Self.isIPAddress(name)
        if context.configuration.certificateVerification == .fullVerification {
            let set = isAddress ? sk_ssl_expect_ip(ssl, name) : sk_ssl_expect_host(ssl, name)
            guard set == 1 else {
                SSL_free(ssl)
                throw TLSError(.invalidConfiguration, "'\(name)' cannot be checked against a certificate (\(OpenSSLErrors.take()))")
            }
        }
        // SNI carries host names only (RFC 6066 section 3).
        if !isAddress, sk_ssl_set_sni(ssl, name) != 1 {
            SSL_free(ssl)
            throw TLSError(.invalidConfiguration, "'\(name)' cannot be sent as the TLS server name (\(OpenSSLErrors.take()))")
        }
    }

    deinit { SSL_free(ssl) }

    /// Hands TLS the bytes the socket read.
    package func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let written = BIO_write(incoming, base + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            if written <= 0 { return }  // a memory BIO takes everything; nothing else can happen
            offset += Int(written)
        }
    }

    /// Advances the handshake with what has been received.
    ///
    /// - Returns: `true` once the handshake is complete; `false` while it waits for the server
    ///   (send ``takeOutgoing(into:)`` and ``receive(_:)`` its answer).
    /// - Throws: ``TLSError`` naming the cause (unknown CA, name mismatch, expired certificate,
    ///   a server not speaking TLS, a client certificate required...).
    package func handshake() throws(TLSError) -> Bool {
        if isHandshakeComplete { return true }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            isHandshakeComplete = true
            return true
        }
        let code = SSL_get_error(ssl, rc)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return false }
        throw failure(code)
    }

    /// Decrypts what has been received and appends the plaintext to `buffer`.
    ///
    /// - Returns: `false` when the server closed TLS (close_notify); `true` otherwise.
    package func read(into buffer: inout [UInt8]) throws(TLSError) -> Bool {
        while true {
            ERR_clear_error()
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<Int(count)])
                hasReadPlaintext = true
                continue
            }
            let code = SSL_get_error(ssl, count)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return true
            case SSL_ERROR_ZERO_RETURN: return false
            default: throw failure(code)
            }
        }
    }

    /// Encrypts `bytes`; the records are then in ``takeOutgoing(into:)``.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let written = SSL_write(ssl, base + offset, Int32(min(bytes.count - offset, 1 << 30)))
            guard written > 0 else { throw failure(SSL_get_error(ssl, written)) }
            offset += Int(written)
        }
    }

    /// Whether TLS has bytes for the socket.
    package var hasOutgoing: Bool { sk_bio_pending(outgoing) > 0 }

    /// Appends the bytes TLS has for the socket to `buffer`.
    package func takeOutgoing(into buffer: inout [UInt8]) {
        while sk_bio_pending(outgoing) > 0 {
            let count = chunk.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32($0.count)) }
            if count <= 0 { return }
            buffer.append(contentsOf: chunk[0..<Int(count)])
        }
    }

    /// Queues TLS's close_notify (send ``takeOutgoing(into:)`` before closing the socket).
    package func closeNotify() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The error for a connection the server closed: during the handshake, or without
    /// close_notify after it.
    package func closedByServer() -> TLSError {
        if isHandshakeComplete, !hasReadPlaintext, sk_ssl_certificate_requested(ssl) == 1 {
            return TLSError(.clientCertificateRequired, "\(serverDescription) asked for a client certificate, none is configured, and it closed the connection before answering: it requires one. Set TLSConfiguration.certificateChainFile and privateKeyFile (redis-py's ssl_certfile and ssl_keyfile)")
        }
        if isHandshakeComplete {
            return TLSError(.truncated, "\(serverDescription) closed the TLS connection without close_notify; a reply may have been cut short")
        }
        return TLSError(.closedDuringHandshake, "\(serverDescription) closed the connection during the TLS handshake: is this port a TLS port? A server that expects a client certificate can also close it; check the server's TLS settings")
    }

    /// The error for a handshake the server did not complete by the deadline: a plain server
    /// waits for a command line that a ClientHello never finishes.
    package func handshakeTimedOut() -> TLSError {
        TLSError(.serverNotSpeakingTLS, "\(serverDescription) did not complete the TLS handshake in time: is this port a TLS port? A plain port waits for a command and never answers a TLS ClientHello; use the server's TLS port, or a plain URL (redis:// rather than rediss://, memcached:// rather than memcached+tls://) for a plain port")
    }

    private func failure(_ code: Int32) -> TLSError {
        let errors = OpenSSLErrors.entries()
        let detail = errors.isEmpty ? "SSL error \(code)" : errors.map(\.text).joined(separator: "; ")
        let verify = Int32(truncatingIfNeeded: SSL_get_verify_result(ssl))
        let reasons = Set(errors.filter { $0.library == sk_library_ssl() }.map(\.reason))
        if verify != X509_V_OK, context.configuration.certificateVerification == .fullVerification,
            reasons.contains(sk_reason_certificate_verify_failed()) || !isHandshakeComplete {
            return verificationFailure(verify)
        }
        if reasons.contains(sk_reason_wrong_version_number()) || reasons.contains(sk_reason_packet_length_too_long()) {
            return TLSError(.serverNotSpeakingTLS, "\(serverDescription) did not answer in TLS (\(detail)): this looks like a plain port; use the server's TLS port, or a plain URL (redis:// rather than rediss://, memcached:// rather than memcached+tls://) for a plain port")
        }
        if reasons.contains(sk_reason_certificate_required()) {
            return TLSError(.clientCertificateRequired, "\(serverDescription) requires a client certificate (\(detail)); set TLSConfiguration.certificateChainFile and privateKeyFile (redis-py's ssl_certfile and ssl_keyfile)")
        }
        if reasons.contains(sk_reason_handshake_failure_alert()) || reasons.contains(sk_reason_bad_certificate_alert()) {
            let hint = context.configuration.certificateChainFile == nil
                ? "if the server requires a client certificate, set TLSConfiguration.certificateChainFile and privateKeyFile"
                : "check that the server accepts this client certificate and a TLS version and cipher this client offers"
            return TLSError(isHandshakeComplete ? .clientCertificateRequired : .handshakeFailed, "\(serverDescription) refused the TLS handshake (\(detail)); \(hint)")
        }
        if reasons.contains(sk_reason_unexpected_eof()) {
            return closedByServer()
        }
        if !isHandshakeComplete {
            return TLSError(.handshakeFailed, "the TLS handshake with \(serverDescription) failed (\(detail))")
        }
        return TLSError(.protocolError, "TLS with \(serverDescription) failed (\(detail)); the connection is closed")
    }

    private func verificationFailure(_ verify: Int32) -> TLSError {
        let text = String(cString: X509_verify_cert_error_string(Int(verify)))
        switch verify {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            return TLSError(.hostnameMismatch, "the certificate of \(serverDescription) does not name '\(expectedName)' (\(text)); connect with a name the certificate carries, or set TLSConfiguration.serverName to it")
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return TLSError(.certificateExpired, "the certificate of \(serverDescription) has expired (\(text)); the server's certificate must be renewed (or this machine's clock is wrong)")
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return TLSError(.certificateNotYetValid, "the certificate of \(serverDescription) is not valid yet (\(text)); check this machine's clock and the certificate's start date")
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return TLSError(.unknownCertificateAuthority, "the certificate of \(serverDescription) is not signed by a CA this client trusts (\(text)); set TLSConfiguration.trustRoots to the CA that signed it (redis-py's ssl_ca_certs)")
        default:
            return TLSError(.certificateRejected, "the certificate of \(serverDescription) was rejected (\(text))")
        }
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
