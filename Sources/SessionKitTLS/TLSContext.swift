import CSessionKitOpenSSL

/// An OpenSSL client context built from a ``TLSConfiguration``: trust roots loaded, client
/// certificate checked against its key. Built once per client and shared by its connections.
package final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is set up here and only read afterwards (SSL_new), which OpenSSL
    // allows from any thread.
    let context: OpaquePointer
    /// The configuration it was built from.
    package let configuration: TLSConfiguration

    /// Builds the context; the files named by `configuration` are read now.
    ///
    /// - Throws: ``TLSError`` (`invalidConfiguration`) naming the file or setting that cannot be used.
    package init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError(.invalidConfiguration, "OpenSSL cannot create a TLS client context (\(OpenSSLErrors.take()))")
        }
        self.context = context
        self.configuration = configuration
        sk_ctx_harden(context)
        switch configuration.minimumVersion {
        case .tls12: _ = sk_ctx_set_min_tls12(context)
        case .tls13: _ = sk_ctx_set_min_tls13(context)
        }
        switch configuration.certificateVerification {
        case .fullVerification:
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            switch configuration.trustRoots {
            case .system:
                guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                    throw TLSError(.invalidConfiguration, "the system's trust store cannot be loaded (\(OpenSSLErrors.take())); set TLSConfiguration.trustRoots to a CA file")
                }
            case .file(let path):
                guard SSL_CTX_load_verify_file(context, path) == 1 else {
                    throw TLSError(.invalidConfiguration, "the CA certificates in '\(path)' cannot be loaded (\(OpenSSLErrors.take())); trustRoots must name a readable PEM file of CA certificates")
                }
            case .directory(let path):
                guard SSL_CTX_load_verify_dir(context, path) == 1 else {
                    throw TLSError(.invalidConfiguration, "the CA directory '\(path)' cannot be used (\(OpenSSLErrors.take())); it must hold certificates hashed with `openssl rehash`")
                }
            }
        case .insecureNoVerification:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        switch (configuration.certificateChainFile, configuration.privateKeyFile) {
        case (nil, nil):
            sk_ctx_note_certificate_requests(context)
        case (let chain?, let key?):
            guard SSL_CTX_use_certificate_chain_file(context, chain) == 1 else {
                throw TLSError(.invalidConfiguration, "the client certificate chain '\(chain)' cannot be loaded (\(OpenSSLErrors.take())); it must be a readable PEM file")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, sk_filetype_pem()) == 1 else {
                let detail = OpenSSLErrors.take()
                if detail.contains("key values mismatch") {
                    throw TLSError(.invalidConfiguration, "the client private key '\(key)' does not belong to the certificate in '\(chain)' (\(detail))")
                }
                throw TLSError(.invalidConfiguration, "the client private key '\(key)' cannot be loaded (\(detail)); it must be a readable, unencrypted PEM key")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError(.invalidConfiguration, "the client private key '\(key)' does not belong to the certificate in '\(chain)'")
            }
        case (_?, nil):
            throw TLSError(.invalidConfiguration, "certificateChainFile is set but privateKeyFile is not: a client certificate needs its private key")
        case (nil, _?):
            throw TLSError(.invalidConfiguration, "privateKeyFile is set but certificateChainFile is not: a client key needs its certificate")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// OpenSSL's thread-local error queue, read and emptied.
enum OpenSSLErrors {
    struct Entry {
        let library: Int32
        let reason: Int32
        let text: String
    }

    /// Takes every queued error.
    static func entries() -> [Entry] {
        var entries: [Entry] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { return entries }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            entries.append(Entry(library: sk_err_library(code), reason: sk_err_reason(code), text: text))
        }
    }

    /// The queued errors as text (emptying the queue).
    static func take() -> String {
        let texts = entries().map(\.text)
        return texts.isEmpty ? "no detail from OpenSSL" : texts.joined(separator: "; ")
    }
}
