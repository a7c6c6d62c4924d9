/// How a client speaks TLS to Redis or memcached: which certificates it trusts, which name it
/// expects, and the client certificate it shows, if any.
///
/// The default verifies the server's certificate chain against the system's trust store and
/// its name (DNS name, or IP address in an IP SAN) against the host connected to, sends that
/// name as SNI, and speaks TLS 1.2 or 1.3 (1.3 preferred).
///
/// ```swift
/// var tls = TLSConfiguration()
/// tls.trustRoots = .file("/etc/ssl/redis-ca.pem")
/// ```
public struct TLSConfiguration: Sendable, Hashable {
    /// Whether the server's certificate is checked.
    public enum CertificateVerification: Sendable, Hashable {
        /// The chain must lead to one of ``TLSConfiguration/trustRoots`` and name the server. The default.
        case fullVerification
        /// Nothing is checked: anyone on the path can read and change the traffic, sessions
        /// included. Only for servers whose certificate cannot be verified at all (some
        /// providers' self-signed certificates); never implied by a URL.
        case insecureNoVerification
    }

    /// Where the certificates that the server's chain must lead to come from.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store (OpenSSL's default paths).
        case system
        /// A PEM file of one or more CA certificates (redis-py's `ssl_ca_certs`).
        case file(String)
        /// A directory of CA certificates hashed with `openssl rehash`.
        case directory(String)
    }

    /// The oldest protocol version accepted.
    public enum MinimumVersion: Sendable, Hashable {
        /// TLS 1.2 or 1.3. The default.
        case tls12
        /// TLS 1.3 only.
        case tls13
    }

    /// Whether the server's certificate is checked (default ``CertificateVerification/fullVerification``).
    public var certificateVerification: CertificateVerification
    /// The certificates a server's chain must lead to (default ``TrustRoots/system``).
    public var trustRoots: TrustRoots
    /// The name the server's certificate must carry and that is sent as SNI, when it is not
    /// the host connected to (e.g. a server reached by IP address whose certificate names it).
    public var serverName: String?
    /// A PEM certificate chain shown to servers that ask for one (mutual TLS; redis-py's `ssl_certfile`).
    public var certificateChainFile: String?
    /// The PEM private key of ``certificateChainFile`` (redis-py's `ssl_keyfile`).
    public var privateKeyFile: String?
    /// The oldest protocol version accepted (default ``MinimumVersion/tls12``).
    public var minimumVersion: MinimumVersion

    /// A configuration that verifies servers against `trustRoots`.
    public init(
        certificateVerification: CertificateVerification = .fullVerification,
        trustRoots: TrustRoots = .system,
        serverName: String? = nil,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        minimumVersion: MinimumVersion = .tls12
    ) {
        self.certificateVerification = certificateVerification
        self.trustRoots = trustRoots
        self.serverName = serverName
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.minimumVersion = minimumVersion
    }
}
