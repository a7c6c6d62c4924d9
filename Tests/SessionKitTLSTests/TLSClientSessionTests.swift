import Foundation
import SessionKitTestSupport
@testable import SessionKitTLS
import Testing

/// The TLS layer against real servers started with certificates made at test time: what
/// works, and each failure a user meets, named with its cause.
@Suite("TLS client sessions against real redis-server and memcached", .needsRedisAndOpenSSL)
struct TLSClientSessionTests {
    static func context(_ configure: (inout TLSConfiguration) -> Void = { _ in }) async throws -> TLSContext {
        let certificates = try await sharedCertificates.value
        var configuration = TLSConfiguration(trustRoots: .file(certificates.caFile))
        configure(&configuration)
        return try TLSContext(configuration: configuration)
    }

    /// The failure `exchange` ends with, as a ``TLSError``.
    static func failure(port: Int, context: TLSContext, host: String = "127.0.0.1", readLimit: Int = 10) async throws -> TLSError {
        do {
            let answer = try await TLSDriver.exchange(port: port, context: context, host: host, request: "PING\r\n", until: "\r\n", readLimit: readLimit)
            throw TLSDriver.NoAnswer(description: "the exchange succeeded with \(answer.debugDescription)")
        } catch let error as TLSError {
            return error
        }
    }

    @Test("PING over TLS, verified by IP SAN and by DNS name")
    func verifiedPing() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates)
        defer { redis.stop() }
        let context = try await Self.context()
        #expect(try await TLSDriver.exchange(port: redis.tlsPort, context: context, request: "PING\r\n", until: "\r\n") == "+PONG\r\n")
        let byName = try await Self.context { $0.serverName = "localhost" }
        #expect(try await TLSDriver.exchange(port: redis.tlsPort, context: byName, request: "PING\r\n", until: "\r\n") == "+PONG\r\n")
        // A large value crosses many TLS records both ways.
        let value = String(repeating: "x", count: 200_000)
        let set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$\(value.utf8.count)\r\n\(value)\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        let expected = "+OK\r\n$\(value.utf8.count)\r\n\(value)\r\n"
        let answer = try await TLSDriver.exchange(port: redis.tlsPort, context: context, request: set, until: "\r\n", length: expected.utf8.count)
        #expect(answer == expected)
    }

    @Test("a certificate from a CA the client does not trust: unknownCertificateAuthority")
    func wrongCA() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates)
        defer { redis.stop() }
        let error = try await Self.failure(port: redis.tlsPort, context: try await Self.context { $0.trustRoots = .file(certificates.otherCAFile) })
        #expect(error.reason == .unknownCertificateAuthority, "\(error)")
        #expect(error.description.contains("trustRoots"), "the message names the fix: \(error)")
        // The system trust store does not know the test CA either.
        let system = try await Self.failure(port: redis.tlsPort, context: try await Self.context { $0.trustRoots = .system })
        #expect(system.reason == .unknownCertificateAuthority, "\(system)")
    }

    @Test("a certificate for another name: hostnameMismatch, for a DNS name and for an IP address")
    func hostnameMismatch() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates)
        defer { redis.stop() }
        let byName = try await Self.failure(port: redis.tlsPort, context: try await Self.context { $0.serverName = "redis.example.com" })
        #expect(byName.reason == .hostnameMismatch, "\(byName)")
        #expect(byName.description.contains("redis.example.com") && byName.description.contains("serverName"), "\(byName)")
        let byAddress = try await Self.failure(port: redis.tlsPort, context: try await Self.context { $0.serverName = "127.0.0.2" })
        #expect(byAddress.reason == .hostnameMismatch, "\(byAddress)")
    }

    @Test("an expired certificate: certificateExpired")
    func expired() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.expiredCertificate, key: certificates.expiredKey, certificates: certificates)
        defer { redis.stop() }
        let error = try await Self.failure(port: redis.tlsPort, context: try await Self.context())
        #expect(error.reason == .certificateExpired, "\(error)")
    }

    @Test("a plain port at a TLS client: serverNotSpeakingTLS, whether the server answers garbage or waits")
    func plainServer() async throws {
        let certificates = try await sharedCertificates.value
        // redis-server waits for the end of a command line that a ClientHello never brings: the
        // deadline ends the handshake.
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates)
        defer { redis.stop() }
        let waited = try await Self.failure(port: redis.server.port, context: try await Self.context(), readLimit: 1)
        #expect(waited.reason == .serverNotSpeakingTLS, "\(waited)")
        #expect(waited.description.contains("TLS port"), "the message names the likely cause: \(waited)")
        // memcached answers the ClientHello with an error line, which is not a TLS record.
        let memcached = try await MemcachedServer.start()
        defer { memcached.stop() }
        let answered = try await Self.failure(port: memcached.port, context: try await Self.context())
        #expect(answered.reason == .serverNotSpeakingTLS, "\(answered)")
        #expect(answered.description.contains("plain port"), "\(answered)")
    }

    @Test("a server that requires a client certificate: clientCertificateRequired without one, PONG with one")
    func clientCertificate() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates, requireClientCertificates: true)
        defer { redis.stop() }
        let error = try await Self.failure(port: redis.tlsPort, context: try await Self.context())
        #expect(error.reason == .clientCertificateRequired, "\(error)")
        #expect(error.description.contains("certificateChainFile"), "\(error)")
        let mutual = try await Self.context {
            $0.certificateChainFile = certificates.clientCertificate
            $0.privateKeyFile = certificates.clientKey
        }
        #expect(try await TLSDriver.exchange(port: redis.tlsPort, context: mutual, request: "PING\r\n", until: "\r\n") == "+PONG\r\n")
    }

    @Test("insecureNoVerification accepts what full verification refuses")
    func insecure() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.expiredCertificate, key: certificates.expiredKey, certificates: certificates)
        defer { redis.stop() }
        let context = try await Self.context {
            $0.certificateVerification = .insecureNoVerification
            $0.trustRoots = .file(certificates.otherCAFile)
            $0.serverName = "redis.example.com"
        }
        #expect(try await TLSDriver.exchange(port: redis.tlsPort, context: context, request: "PING\r\n", until: "\r\n") == "+PONG\r\n")
    }

    @Test("configurations that cannot work are refused when the context is built, naming the setting")
    func invalidConfigurations() async throws {
        let certificates = try await sharedCertificates.value
        let cases: [(TLSConfiguration, String)] = [
            (TLSConfiguration(trustRoots: .file("/nonexistent/ca.pem")), "/nonexistent/ca.pem"),
            (TLSConfiguration(certificateChainFile: certificates.clientCertificate), "privateKeyFile"),
            (TLSConfiguration(privateKeyFile: certificates.clientKey), "certificateChainFile"),
            (TLSConfiguration(certificateChainFile: certificates.clientCertificate, privateKeyFile: certificates.serverKey), "does not belong"),
        ]
        for (configuration, named) in cases {
            let error = #expect(throws: TLSError.self) { _ = try TLSContext(configuration: configuration) }
            #expect(error?.reason == .invalidConfiguration)
            #expect(error?.description.contains(named) == true, "\(String(describing: error))")
        }
    }

    @Test("memcached -Z: version over TLS", .needsMemcachedAndOpenSSL)
    func memcachedTLS() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await MemcachedServer.start(MemcachedServer.Options(extraArguments: [
            "-Z", "-o", "ssl_chain_cert=\(certificates.serverCertificate),ssl_key=\(certificates.serverKey)",
        ]))
        defer { memcached.stop() }
        let answer = try await TLSDriver.exchange(port: memcached.port, context: try await Self.context(), request: "version\r\n", until: "\r\n")
        #expect(answer.hasPrefix("VERSION 1."), "\(answer)")
        let wrong = try await Self.failure(port: memcached.port, context: try await Self.context { $0.trustRoots = .file(certificates.otherCAFile) })
        #expect(wrong.reason == .unknownCertificateAuthority, "\(wrong)")
    }
}
