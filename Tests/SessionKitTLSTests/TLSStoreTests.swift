import Foundation
import SessionKit
import SessionKitMemcached
import SessionKitRedis
import SessionKitTestSupport
import SessionKitTLS
import Testing

/// The TLS servers the conformance suites share, started once per run.
enum SharedTLSServers {
    static let redis = Task { () throws -> TLSRedis in
        let certificates = try await sharedCertificates.value
        return try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates)
    }

    static let memcached = Task { () throws -> MemcachedServer in
        try await TLSMemcached.start(certificate: try await sharedCertificates.value.serverCertificate,
                                     key: try await sharedCertificates.value.serverKey)
    }
}

/// memcached with `-Z`: every TCP connection speaks TLS.
enum TLSMemcached {
    static func start(certificate: String, key: String, extraArguments: [String] = []) async throws -> MemcachedServer {
        try await MemcachedServer.start(MemcachedServer.Options(extraArguments: [
            "-Z", "-o", "ssl_chain_cert=\(certificate),ssl_key=\(key)",
        ] + extraArguments))
    }
}

/// A session key and value to write, and checks that an error shows neither.
struct SessionProbe {
    let key = "session:" + UUID().uuidString
    let secret = "secret-" + UUID().uuidString
    var value: [UInt8] { Array(#"{"user":"ada","token":"\#(secret)"}"#.utf8) }

    /// Saves the probe through `store`, which must fail, and returns the error after checking
    /// that it names no session data.
    func failedSave(_ store: any SessionStore, sourceLocation: SourceLocation = #_sourceLocation) async throws -> SessionError {
        do {
            try await store.save(key: key, value: value, ttl: 60)
        } catch let error as SessionError {
            let text = "\(error)"
            #expect(!text.contains(key) && !text.contains(secret), "the error shows session data: \(text)", sourceLocation: sourceLocation)
            return error
        }
        throw ConformanceFailure("the save succeeded; it must have failed")
    }
}

/// Short timeouts: every failure must end within the command deadline. The connect timeout is
/// below the command timeout, so that a handshake that never completes is reported with its
/// cause rather than as a slow connect.
func failFast<Configuration>(_ configuration: inout Configuration) where Configuration: TimeoutConfigurable {
    configuration.connectTimeout = .seconds(1)
    configuration.commandTimeout = .seconds(3)
}

protocol TimeoutConfigurable {
    var connectTimeout: Duration { get set }
    var commandTimeout: Duration { get set }
}

extension RedisConfiguration: TimeoutConfigurable {}
extension MemcachedConfiguration: TimeoutConfigurable {}

extension RedisSessionStore {
    /// A store on `url`, with the test CA for `rediss://` and short timeouts.
    static func failing(_ url: String, tls: TLSConfiguration = TLSConfiguration(), _ configure: (inout RedisConfiguration) -> Void = { _ in }) async throws -> RedisSessionStore {
        var configuration = try RedisConfiguration(url: url, tls: url.hasPrefix("rediss") ? tls : nil)
        failFast(&configuration)
        configure(&configuration)
        return try RedisSessionStore(configuration: configuration)
    }
}

extension MemcachedSessionStore {
    /// A store on `url`, with short timeouts.
    static func failing(_ url: String, tls: TLSConfiguration = TLSConfiguration(), _ configure: (inout MemcachedConfiguration) -> Void = { _ in }) async throws -> MemcachedSessionStore {
        var configuration = try MemcachedConfiguration(url: url, tls: url.hasPrefix("memcached+tls") ? tls : nil)
        failFast(&configuration)
        configure(&configuration)
        return try MemcachedSessionStore(configuration: configuration)
    }
}

@Suite("RedisSessionStore over TLS (rediss://)", .needsRedisAndOpenSSL, .timeLimit(.minutes(2)))
struct RedisTLSStoreTests {
    static let store = Task { () throws -> RedisSessionStore in
        let certificates = try await sharedCertificates.value
        let redis = try await SharedTLSServers.redis.value
        var configuration = try RedisConfiguration(url: "rediss://127.0.0.1:\(redis.tlsPort)/0?ssl_ca_certs=\(certificates.caFile)", tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = .seconds(20)
        return try RedisSessionStore(configuration: configuration)
    }

    @Test("passes the store conformance suite", arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        try await check.run(try await Self.store.value, time: .serverClock)
    }

    @Test("a certificate from a CA the client does not trust: a clear error; with verification off the same server is used")
    func wrongCA() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await SharedTLSServers.redis.value
        let url = "rediss://127.0.0.1:\(redis.tlsPort)/0?ssl_ca_certs=\(certificates.otherCAFile)"
        let error = try await SessionProbe().failedSave(try await RedisSessionStore.failing(url))
        #expect(error.message.contains("not signed by a CA this client trusts") && error.message.contains("trustRoots"), "\(error)")
        // Control: the test fails when code turns verification off.
        let probe = SessionProbe()
        let unverified = try await RedisSessionStore.failing(url, tls: TLSConfiguration(certificateVerification: .insecureNoVerification))
        try await unverified.save(key: probe.key, value: probe.value, ttl: 60)
        #expect(try await unverified.load(key: probe.key) == probe.value)
    }

    @Test("a certificate that does not name the host connected to: hostnameMismatch, by IP address and by name")
    func hostnameMismatch() async throws {
        let certificates = try await sharedCertificates.value
        // The certificate names 127.0.0.1 and localhost, not ::1.
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates, ipv6: true)
        defer { redis.stop() }
        let byAddress = try await SessionProbe().failedSave(try await RedisSessionStore.failing("rediss://[::1]:\(redis.tlsPort)?ssl_ca_certs=\(certificates.caFile)"))
        #expect(byAddress.message.contains("does not name '::1'"), "\(byAddress)")
        let byName = try await SessionProbe().failedSave(try await RedisSessionStore.failing("rediss://127.0.0.1:\(redis.tlsPort)?ssl_ca_certs=\(certificates.caFile)") {
            $0.tls = TLSConfiguration(trustRoots: .file(certificates.caFile), serverName: "redis.example.com")
        })
        #expect(byName.message.contains("does not name 'redis.example.com'") && byName.message.contains("serverName"), "\(byName)")
        // Control: the name the certificate carries works on the same port.
        let probe = SessionProbe()
        let matching = try await RedisSessionStore.failing("rediss://localhost:\(redis.tlsPort)?ssl_ca_certs=\(certificates.caFile)")
        try await matching.save(key: probe.key, value: probe.value, ttl: 60)
        #expect(try await matching.load(key: probe.key) == probe.value)
    }

    @Test("an expired certificate: a clear error")
    func expired() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.expiredCertificate, key: certificates.expiredKey, certificates: certificates)
        defer { redis.stop() }
        let error = try await SessionProbe().failedSave(try await RedisSessionStore.failing("rediss://127.0.0.1:\(redis.tlsPort)?ssl_ca_certs=\(certificates.caFile)"))
        #expect(error.message.contains("has expired"), "\(error)")
    }

    @Test("a plaintext server at a rediss:// URL: the handshake ends at connectTimeout, naming the likely cause")
    func plainServerAtTLSURL() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await SharedTLSServers.redis.value
        let error = try await SessionProbe().failedSave(try await RedisSessionStore.failing("rediss://127.0.0.1:\(redis.server.port)?ssl_ca_certs=\(certificates.caFile)"))
        #expect(error.message.contains("is this port a TLS port?") && error.message.contains("redis://"), "\(error)")
    }

    @Test("a TLS server at a redis:// URL: a clear error that suggests rediss://")
    func tlsServerAtPlainURL() async throws {
        let redis = try await SharedTLSServers.redis.value
        let error = try await SessionProbe().failedSave(try await RedisSessionStore.failing("redis://127.0.0.1:\(redis.tlsPort)"))
        #expect(error.message.contains("if that port expects TLS") && error.message.contains("rediss://"), "\(error)")
    }

    @Test("a server that requires a client certificate: a clear error without one; ssl_certfile and ssl_keyfile work")
    func clientCertificateRequired() async throws {
        let certificates = try await sharedCertificates.value
        let redis = try await TLSRedis.start(certificate: certificates.serverCertificate, key: certificates.serverKey, certificates: certificates,
                                             requireClientCertificates: true)
        defer { redis.stop() }
        let url = "rediss://127.0.0.1:\(redis.tlsPort)?ssl_ca_certs=\(certificates.caFile)"
        let error = try await SessionProbe().failedSave(try await RedisSessionStore.failing(url))
        #expect(error.message.contains("client certificate") && error.message.contains("certificateChainFile"), "\(error)")
        let probe = SessionProbe()
        let mutual = try await RedisSessionStore.failing(url + "&ssl_certfile=\(certificates.clientCertificate)&ssl_keyfile=\(certificates.clientKey)")
        try await mutual.save(key: probe.key, value: probe.value, ttl: 60)
        #expect(try await mutual.load(key: probe.key) == probe.value)
    }
}

@Suite("MemcachedSessionStore over TLS (memcached -Z)", .needsMemcachedAndOpenSSL, .timeLimit(.minutes(2)))
struct MemcachedTLSStoreTests {
    static let store = Task { () throws -> MemcachedSessionStore in
        let certificates = try await sharedCertificates.value
        let memcached = try await SharedTLSServers.memcached.value
        var configuration = try MemcachedConfiguration(url: "memcached+tls://127.0.0.1:\(memcached.port)?ssl_ca_certs=\(certificates.caFile)", tls: TLSConfiguration())
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = .seconds(20)
        return try MemcachedSessionStore(configuration: configuration)
    }

    @Test("passes the store conformance suite", arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformanceCheck) async throws {
        try await check.run(try await Self.store.value, time: .serverClock)
    }

    @Test("a certificate from a CA the client does not trust: a clear error; with verification off the same server is used")
    func wrongCA() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await SharedTLSServers.memcached.value
        let url = "memcached+tls://127.0.0.1:\(memcached.port)?ssl_ca_certs=\(certificates.otherCAFile)"
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing(url))
        #expect(error.message.contains("not signed by a CA this client trusts") && error.message.contains("trustRoots"), "\(error)")
        let probe = SessionProbe()
        let unverified = try await MemcachedSessionStore.failing(url, tls: TLSConfiguration(certificateVerification: .insecureNoVerification))
        try await unverified.save(key: probe.key, value: probe.value, ttl: 60)
        #expect(try await unverified.load(key: probe.key) == probe.value)
    }

    @Test("a certificate that does not name the host: a clear error")
    func hostnameMismatch() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await SharedTLSServers.memcached.value
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing("memcached+tls://127.0.0.1:\(memcached.port)") {
            $0.tls = TLSConfiguration(trustRoots: .file(certificates.caFile), serverName: "cache.example.com")
        })
        #expect(error.message.contains("does not name 'cache.example.com'"), "\(error)")
    }

    @Test("an expired certificate: a clear error")
    func expired() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await TLSMemcached.start(certificate: certificates.expiredCertificate, key: certificates.expiredKey)
        defer { memcached.stop() }
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing("memcached+tls://127.0.0.1:\(memcached.port)?ssl_ca_certs=\(certificates.caFile)"))
        #expect(error.message.contains("has expired"), "\(error)")
    }

    @Test("a plaintext memcached at a memcached+tls:// list: a clear error naming the plain port")
    func plainServerAtTLSURL() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await MemcachedServer.start()
        defer { memcached.stop() }
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing("memcached+tls://127.0.0.1:\(memcached.port)?ssl_ca_certs=\(certificates.caFile)"))
        #expect(error.message.contains("plain port"), "\(error)")
    }

    @Test("memcached -Z at a plaintext list: a clear error that suggests memcached+tls://")
    func tlsServerAtPlainURL() async throws {
        let memcached = try await SharedTLSServers.memcached.value
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing("memcached://127.0.0.1:\(memcached.port)"))
        #expect(error.message.contains("if that port expects TLS") && error.message.contains("memcached+tls://"), "\(error)")
    }

    @Test("memcached requiring a client certificate: a clear error without one; ssl_certfile and ssl_keyfile work")
    func clientCertificateRequired() async throws {
        let certificates = try await sharedCertificates.value
        let memcached = try await TLSMemcached.start(certificate: certificates.serverCertificate, key: certificates.serverKey,
                                                     extraArguments: ["-o", "ssl_verify_mode=2,ssl_ca_cert=\(certificates.caFile)"])
        defer { memcached.stop() }
        let url = "memcached+tls://127.0.0.1:\(memcached.port)?ssl_ca_certs=\(certificates.caFile)"
        let error = try await SessionProbe().failedSave(try await MemcachedSessionStore.failing(url))
        #expect(error.message.contains("client certificate"), "\(error)")
        let probe = SessionProbe()
        let mutual = try await MemcachedSessionStore.failing(url + "&ssl_certfile=\(certificates.clientCertificate)&ssl_keyfile=\(certificates.clientKey)")
        try await mutual.save(key: probe.key, value: probe.value, ttl: 60)
        #expect(try await mutual.load(key: probe.key) == probe.value)
    }
}

@Suite("TLS in store URLs")
struct TLSURLTests {
    @Test("rediss:// and memcached+tls:// without SessionKitTLS's configuration: unsupported, saying how to add it")
    func withoutTLS() throws {
        for url in ["rediss://:pw@cache.example.com:6380/0", "rediss+cluster://a:6380,b:6380"] {
            let error = #expect(throws: SessionError.self) { try RedisConfiguration(url: url) }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("import SessionKitTLS") == true && error?.message.contains("tls: TLSConfiguration()") == true, "\(String(describing: error))")
            #expect(error?.message.contains("pw") == false)
        }
        let memcached = #expect(throws: SessionError.self) { try MemcachedConfiguration(url: "memcached+tls://a:11211,b:11211") }
        #expect(memcached?.code == .unsupported)
        #expect(memcached?.message.contains("import SessionKitTLS") == true, "\(String(describing: memcached))")
    }

    @Test("redis-py's query parameters set the TLS configuration; the rest of the URL parses as redis://")
    func parameters() throws {
        let configuration = try RedisConfiguration(
            url: "rediss://app:s%40cret@cache.example.com:6380/2?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem&ssl_certfile=/etc/c.pem&ssl_keyfile=/etc/k.pem",
            tls: TLSConfiguration())
        #expect(configuration.address == .tcp(host: "cache.example.com", port: 6380))
        #expect(configuration.database == 2 && configuration.username == "app" && configuration.password == "s@cret")
        let tls = try #require(configuration.tls as? TLSConfiguration)
        #expect(tls == TLSConfiguration(trustRoots: .file("/etc/ca.pem"), certificateChainFile: "/etc/c.pem", privateKeyFile: "/etc/k.pem"))
        // A URL never turns verification off on its own: ssl_cert_reqs=none needs code that says so.
        let refused = #expect(throws: SessionError.self) { try RedisConfiguration(url: "rediss://cache.example.com?ssl_cert_reqs=none", tls: TLSConfiguration()) }
        #expect(refused?.code == .invalidConfiguration && refused?.message.contains(".insecureNoVerification") == true, "\(String(describing: refused))")
        let refusedList = #expect(throws: SessionError.self) { try MemcachedConfiguration(url: "memcached+tls://a:11211?ssl_cert_reqs=none", tls: TLSConfiguration()) }
        #expect(refusedList?.code == .invalidConfiguration)
        let none = try RedisConfiguration(url: "rediss://cache.example.com?ssl_cert_reqs=none", tls: TLSConfiguration(certificateVerification: .insecureNoVerification))
        #expect((none.tls as? TLSConfiguration)?.certificateVerification == .insecureNoVerification)
        #expect((try RedisConfiguration(url: "rediss://cache.example.com?ssl_cert_reqs=required", tls: TLSConfiguration(certificateVerification: .insecureNoVerification)).tls as? TLSConfiguration)?.certificateVerification == .fullVerification)
        let bogus = #expect(throws: SessionError.self) { try RedisConfiguration(url: "rediss://cache.example.com?ssl_cert_reqs=sometimes", tls: TLSConfiguration()) }
        #expect(bogus?.code == .invalidConfiguration && bogus?.message.contains("ssl_cert_reqs") == true)
        // TLS settings beside a plaintext URL would be ignored: refused, naming the TLS scheme.
        for plain in ["redis://cache.example.com", "redis+cluster://a:6379,b:6379", "unix:///run/redis.sock"] {
            let error = #expect(throws: SessionError.self) { try RedisConfiguration(url: plain, tls: TLSConfiguration()) }
            #expect(error?.code == .invalidConfiguration && error?.message.contains("rediss://") == true, "\(String(describing: error))")
        }
        let plainList = #expect(throws: SessionError.self) { try MemcachedConfiguration(url: "memcached://a:11211", tls: TLSConfiguration()) }
        #expect(plainList?.code == .invalidConfiguration && plainList?.message.contains("memcached+tls://") == true, "\(String(describing: plainList))")
        #expect(try RedisConfiguration(url: "redis://cache.example.com").tls == nil)
        let cluster = try RedisConfiguration(url: "rediss+cluster://a:6380,b:6380", tls: TLSConfiguration())
        #expect(cluster.topology == .cluster(seeds: [.tcp(host: "a", port: 6380), .tcp(host: "b", port: 6380)]) && cluster.tls != nil)
        let memcached = try MemcachedConfiguration(url: "memcached+tls://a:11211,[::1]:11212?ssl_ca_certs=/etc/ca.pem", tls: TLSConfiguration())
        #expect(memcached.servers == [.tcp(host: "a", port: 11211), .tcp(host: "::1", port: 11212)])
        #expect((memcached.tls as? TLSConfiguration)?.trustRoots == .file("/etc/ca.pem"))
        // Configurations compare with their TLS settings.
        #expect(configuration != RedisConfiguration(address: configuration.address))
        #expect(try RedisConfiguration(url: "rediss://a", tls: TLSConfiguration()) == RedisConfiguration(url: "rediss://a", tls: TLSConfiguration()))
    }
}
