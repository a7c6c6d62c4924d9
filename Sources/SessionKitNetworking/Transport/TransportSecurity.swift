/// How a store's connections are secured: set it as `RedisConfiguration.tls` or
/// `MemcachedConfiguration.tls`.
///
/// SessionKitTLS's `TLSConfiguration` adopts this protocol; stores do not depend on it, so an
/// app that never imports SessionKitTLS needs no OpenSSL. Adopters turn a configuration into
/// the per-connection byte filters the connection engine runs (``prepare()``) and accept the
/// TLS settings a store URL carries (``applying(urlParameters:)``).
public protocol TransportSecurity: Sendable, Hashable, CustomStringConvertible {
    /// Builds what one client's connections share (for TLS: the trust roots and client
    /// certificate, read now).
    ///
    /// - Throws: an error naming the setting that cannot be used (a CA file that cannot be read...).
    func prepare() throws -> PreparedTransport

    /// This configuration with the settings of a store URL's query applied, for `rediss://`
    /// URLs and TLS memcached server lists.
    ///
    /// - Parameter urlParameters: the query parameters, names lowercased: redis-py's
    ///   `ssl_cert_reqs` (`none`, `optional`, `required`), `ssl_ca_certs`, `ssl_certfile`,
    ///   `ssl_keyfile`; others are ignored.
    /// - Throws: an error naming a parameter whose value cannot be used.
    func applying(urlParameters: [String: String]) throws -> Self
}

/// A ``TransportSecurity`` ready for a client's connections: what ``TransportSecurity/prepare()``
/// returns. Opaque to apps; stores hand it to the connection engine.
public struct PreparedTransport: Sendable {
    /// Makes each connection's byte filter.
    @_spi(Engine) public let factory: any TransportFactory

    /// Wraps `factory`.
    @_spi(Engine) public init(factory: any TransportFactory) {
        self.factory = factory
    }
}

/// A ``TransportSecurity`` value kept in a `Hashable` configuration.
@_spi(Engine) public struct AnyTransportSecurity: Sendable, Hashable {
    /// The wrapped security.
    @_spi(Engine) public let base: any TransportSecurity

    /// Wraps `base`.
    @_spi(Engine) public init(_ base: any TransportSecurity) {
        self.base = base
    }

    @_spi(Engine) public static func == (lhs: AnyTransportSecurity, rhs: AnyTransportSecurity) -> Bool {
        AnyHashable(lhs.base) == AnyHashable(rhs.base)
    }

    @_spi(Engine) public func hash(into hasher: inout Hasher) {
        hasher.combine(AnyHashable(base))
    }
}
