import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import Testing

@Suite("Redis URLs and configuration")
struct RedisConfigurationTests {
    @Test("redis:// URLs")
    func redisURLs() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.address == .tcp(host: "localhost", port: 6379))
        #expect(plain.database == 0 && plain.username == nil && plain.password == nil)

        let full = try RedisConfiguration(url: "redis://app:s%40cret%2F1@cache.internal:6380/3")
        #expect(full.address == .tcp(host: "cache.internal", port: 6380))
        #expect(full.username == "app")
        #expect(full.password == "s@cret/1")
        #expect(full.database == 3)

        let passwordOnly = try RedisConfiguration(url: "redis://:hunter2@10.0.0.5:7000/0")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "hunter2")
        #expect(passwordOnly.address == .tcp(host: "10.0.0.5", port: 7000))

        let v6 = try RedisConfiguration(url: "redis://[::1]:6390/2")
        #expect(v6.address == .tcp(host: "::1", port: 6390))
        #expect(v6.database == 2)

        let query = try RedisConfiguration(url: "redis://h?db=5")
        #expect(query.database == 5)
    }

    @Test("replies are bounded near the store's largest value, and a store with larger values raises the bound")
    func bulkLimitFollowsTheStore() throws {
        #expect(RedisConfiguration().parserLimits.maxBulkLength == 4 * 1024 * 1024 + 64 * 1024)
        let defaultStore = try RedisSessionStore(url: "redis://127.0.0.1:1")
        defer { defaultStore.client.close() }
        #expect(defaultStore.client.configuration.parserLimits.maxBulkLength == 4 * 1024 * 1024 + 64 * 1024)
        let large = try RedisSessionStore(url: "redis://127.0.0.1:1", maxValueSize: 16 * 1024 * 1024)
        defer { large.client.close() }
        #expect(large.client.configuration.parserLimits.maxBulkLength == 16 * 1024 * 1024 + 64 * 1024)
        #expect(large.client.configuration.parserLimits.maxBufferedBytes >= 16 * 1024 * 1024 + 64 * 1024)
        var configuration = RedisConfiguration()
        configuration.parserLimits.maxBulkLength = 64 * 1024 * 1024
        let raised = try RedisSessionStore(configuration: configuration, maxValueSize: 1024)
        defer { raised.client.close() }
        #expect(raised.client.configuration.parserLimits.maxBulkLength == 64 * 1024 * 1024, "a higher bound is kept")
    }

    @Test("unix:// URLs")
    func unixURLs() throws {
        let socket = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=4")
        #expect(socket.address == .unix(path: "/run/redis/redis.sock"))
        #expect(socket.database == 4)
        let auth = try RedisConfiguration(url: "unix:///tmp/r.sock?user=bob&password=pw")
        #expect(auth.username == "bob" && auth.password == "pw")
    }

    @Test("rediss:// without SessionKitTLS is refused, saying how to add it")
    func tlsRefused() {
        let error = #expect(throws: SessionError.self) { try RedisConfiguration(url: "rediss://cache:6380") }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("import SessionKitTLS") == true, "\(String(describing: error))")
        #expect(error?.message.contains(#".product(name: "SessionKitTLS", package: "SessionKit")"#) == true, "\(String(describing: error))")
    }

    @Test("bad URLs say what to fix", arguments: [
        "http://localhost", "redis://", "redis://host:0", "redis://host/abc", "redis://host/-1",
        "unix://relative/path", "redis://host?db=x", "not a url",
    ])
    func badURLs(_ url: String) {
        let error = #expect(throws: SessionError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test("descriptions never show the password")
    func redaction() throws {
        let configuration = try RedisConfiguration(url: "redis://u:topsecret@h:1/0")
        #expect(!configuration.description.contains("topsecret"))
        let error = #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis://u:topsecret@h/zz") }
        #expect(error?.message.contains("topsecret") == false)
    }

    @Test("RedisSessionInterface(url:) builds its store from the URL without connecting")
    func interfaceFromURL() throws {
        let interface = try RedisSessionInterface(url: "redis://:pw@127.0.0.1:1/4")
        #expect(interface.store.client.configuration.address == .tcp(host: "127.0.0.1", port: 1))
        #expect(interface.store.client.configuration.database == 4)
        #expect(interface.store.client.configuration.password == "pw")
        interface.store.client.close()
    }

    @Test("out-of-range client settings are rejected")
    func invalidClient() {
        var configuration = RedisConfiguration()
        configuration.connectionCount = 0
        #expect(throws: SessionError.self) { try RedisClient(configuration: configuration) }
        configuration = RedisConfiguration()
        configuration.commandTimeout = .zero
        #expect(throws: SessionError.self) { try RedisClient(configuration: configuration) }
    }

    @Test("error replies are classified by prefix")
    func classification() {
        #expect(RedisErrorClass(message: "LOADING Redis is loading the dataset in memory") == .retry)
        #expect(RedisErrorClass(message: "TRYAGAIN Multiple keys request during rehashing of slot") == .retry)
        #expect(RedisErrorClass(message: "CLUSTERDOWN The cluster is down") == .retry)
        #expect(RedisErrorClass(message: "MASTERDOWN Link with MASTER is down") == .retry)
        #expect(RedisErrorClass(message: "READONLY You can't write against a read only replica.") == .reconnect)
        #expect(RedisErrorClass(message: "NOAUTH Authentication required.") == .authentication)
        #expect(RedisErrorClass(message: "WRONGPASS invalid username-password pair") == .authentication)
        #expect(RedisErrorClass(message: "NOPERM this user has no permissions") == .authentication)
        #expect(RedisErrorClass(message: "MOVED 3999 127.0.0.1:6381") == .redirect)
        #expect(RedisErrorClass(message: "ASK 3999 127.0.0.1:6381") == .redirect)
        #expect(RedisErrorClass(message: "OOM command not allowed when used memory > 'maxmemory'.") == .outOfMemory)
        #expect(RedisErrorClass(message: "WRONGTYPE Operation against a key holding the wrong kind of value") == .fatal)
        #expect(RedisErrorClass(message: "ERR unknown command") == .fatal)
        #expect(RedisErrorClass(message: "READONLY").error(message: "READONLY x", address: "a", command: "SET").code == .storeUnavailable)
        #expect(RedisErrorClass.authentication.error(message: "NOAUTH", address: "a", command: "GET").code == .authenticationFailed)
        #expect(RedisErrorClass.outOfMemory.error(message: "OOM", address: "a", command: "SET").code == .storeFailure)
    }
}
