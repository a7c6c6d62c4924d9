@_spi(Engine) import SessionKitNetworking

extension TLSConfiguration: TransportSecurity {
    /// Loads the trust roots and the client certificate for one client's connections.
    ///
    /// The stores call it when a client is created, so that a CA file that cannot be read fails
    /// there, not on the first request.
    ///
    /// - Throws: ``TLSError`` `invalidConfiguration` naming the file or setting that cannot be used.
    public func prepare() throws -> PreparedTransport {
        PreparedTransport(factory: TLSTransportFactory(context: try TLSContext(configuration: self)))
    }

    /// This configuration with a store URL's TLS parameters applied (redis-py's names).
    ///
    /// - `ssl_cert_reqs`: `required` or `optional` verify the certificate and the name (for a
    ///   client the two are the same). `none` is accepted only when this configuration already
    ///   says ``CertificateVerification/insecureNoVerification``: a URL (often an environment
    ///   variable) never turns verification off on its own; code must say so.
    /// - `ssl_ca_certs`: a PEM file of CA certificates (``TrustRoots/file(_:)``); `ssl_ca_path`:
    ///   a hashed directory (``TrustRoots/directory(_:)``).
    /// - `ssl_certfile`, `ssl_keyfile`: the client certificate chain and its key (mutual TLS).
    ///
    /// - Parameter urlParameters: the URL's query parameters, names lowercased.
    /// - Throws: ``TLSError`` `invalidConfiguration` for an `ssl_cert_reqs` value it does not
    ///   know, or `none` when this configuration verifies.
    public func applying(urlParameters: [String: String]) throws -> TLSConfiguration {
        var configuration = self
        if let requirement = urlParameters["ssl_cert_reqs"] {
            switch requirement.lowercased() {
            case "required", "cert_required", "optional", "cert_optional":
                configuration.certificateVerification = .fullVerification
            case "none", "cert_none":
                guard certificateVerification == .insecureNoVerification else {
                    throw TLSError(.invalidConfiguration, "ssl_cert_reqs=\(requirement) asks to skip certificate verification, which SessionKit does only when code says so, where a reviewer sees it: pass tls: TLSConfiguration(certificateVerification: .insecureNoVerification) for a server whose certificate cannot be verified, or remove ssl_cert_reqs from the URL")
                }
            default:
                throw TLSError(.invalidConfiguration, "ssl_cert_reqs=\(requirement) is not one of required, optional or none")
            }
        }
        if let file = urlParameters["ssl_ca_certs"], !file.isEmpty { configuration.trustRoots = .file(file) }
        if let directory = urlParameters["ssl_ca_path"], !directory.isEmpty { configuration.trustRoots = .directory(directory) }
        if let chain = urlParameters["ssl_certfile"], !chain.isEmpty { configuration.certificateChainFile = chain }
        if let key = urlParameters["ssl_keyfile"], !key.isEmpty { configuration.privateKeyFile = key }
        return configuration
    }
}

extension TLSConfiguration: CustomStringConvertible {
    /// The settings in a few words, for configuration descriptions and logs (no key material).
    public var description: String {
        var parts: [String] = []
        switch certificateVerification {
        case .fullVerification:
            switch trustRoots {
            case .system: parts.append("verified against the system trust store")
            case .file(let path): parts.append("verified against \(path)")
            case .directory(let path): parts.append("verified against \(path)/")
            }
        case .insecureNoVerification:
            parts.append("NOT VERIFIED")
        }
        if let serverName { parts.append("server name \(serverName)") }
        if let certificateChainFile { parts.append("client certificate \(certificateChainFile)") }
        if minimumVersion == .tls13 { parts.append("TLS 1.3 only") }
        return "TLS " + parts.joined(separator: ", ")
    }
}
