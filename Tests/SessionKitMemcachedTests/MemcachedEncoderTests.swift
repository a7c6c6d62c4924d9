import SessionKit
@_spi(Engine) @testable import SessionKitMemcached
import Testing

@Suite("Memcached command encoder, keys and expiration")
struct MemcachedEncoderTests {
    static func encoded(_ command: MemcachedCommand) throws -> String {
        var buffer: [UInt8] = []
        try MemcachedEncoder.encode(command, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test("commands encode to the exact bytes of the text and meta protocols")
    func exactBytes() throws {
        let v = Array("hello".utf8)
        #expect(try Self.encoded(.get(keys: ["a"])) == "get a\r\n")
        #expect(try Self.encoded(.get(keys: ["a", "b"])) == "get a b\r\n")
        #expect(try Self.encoded(.gets(keys: ["a"])) == "gets a\r\n")
        #expect(try Self.encoded(.gat(exptime: 60, keys: ["a"])) == "gat 60 a\r\n")
        #expect(try Self.encoded(.gats(exptime: 0, keys: ["a", "b"])) == "gats 0 a b\r\n")
        #expect(try Self.encoded(.set(key: "k", flags: 0, exptime: 3600, value: v)) == "set k 0 3600 5\r\nhello\r\n")
        #expect(try Self.encoded(.add(key: "k", flags: 4294967295, exptime: -1, value: [])) == "add k 4294967295 -1 0\r\n\r\n")
        #expect(try Self.encoded(.replace(key: "k", flags: 1, exptime: 0, value: v)) == "replace k 1 0 5\r\nhello\r\n")
        #expect(try Self.encoded(.cas(key: "k", flags: 0, exptime: 10, value: v, cas: 18446744073709551615)) == "cas k 0 10 5 18446744073709551615\r\nhello\r\n")
        #expect(try Self.encoded(.delete(key: "k")) == "delete k\r\n")
        #expect(try Self.encoded(.touch(key: "k", exptime: 2_592_001)) == "touch k 2592001\r\n")
        #expect(try Self.encoded(.version) == "version\r\n")
        #expect(try Self.encoded(.metaGet(key: "k", flags: ["v", "t", "T30"])) == "mg k v t T30\r\n")
        #expect(try Self.encoded(.metaSet(key: "k", value: v, flags: ["T0"])) == "ms k 5 T0\r\nhello\r\n")
        #expect(try Self.encoded(.metaDelete(key: "k", flags: [])) == "md k\r\n")
        #expect(try Self.encoded(.metaNoop) == "mn\r\n")
        // Values are binary-safe: CRLF inside is sent by length, not interpreted.
        #expect(try Self.encoded(.set(key: "k", flags: 0, exptime: 1, value: Array("a\r\nEND\r\n".utf8))) == "set k 0 1 8\r\na\r\nEND\r\n\r\n")
    }

    static let badKeys: [String] = [
        "", "a b", "a\r\nflush_all", "a\rb", "a\nb", "a\u{0}b", "\u{7F}", "tab\tkey", "é",
        String(repeating: "k", count: 251), String(repeating: "k", count: 1000),
    ]

    @Test("invalid keys are refused with invalidKey and nothing is encoded", arguments: badKeys)
    func badKey(_ key: String) throws {
        var buffer: [UInt8] = Array("untouched".utf8)
        let error = #expect(throws: SessionError.self) {
            try MemcachedEncoder.encode(.set(key: key, flags: 0, exptime: 0, value: [1]), into: &buffer)
        }
        #expect(error?.code == .invalidKey)
        #expect(buffer == Array("untouched".utf8))
        #expect(throws: SessionError.self) { try MemcachedEncoder.encode(.get(keys: ["ok", key]), into: &buffer) }
        #expect(buffer == Array("untouched".utf8))
        #expect(!MemcachedKey.isValid(bytes: Array(key.utf8)))
        // The message shows the key escaped, never raw control characters.
        #expect(error?.message.contains("\r") == false)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("keys of 1 to 250 printable ASCII bytes are accepted")
    func goodKeys() throws {
        #expect(try MemcachedKey.validate(String(repeating: "k", count: 250)).count == 250)
        #expect(try MemcachedKey.validate("session:AbC-_~!#").count == 16)
        let printable = String(decoding: (0x21...0x7E).map { UInt8($0) }, as: UTF8.self)
        #expect(try MemcachedKey.validate(printable).count == 94)
    }

    @Test("TTLs: nil never expires, up to 30 days relative, above that absolute, expired is negative")
    func expiration() {
        let now = 1_700_000_000
        #expect(MemcachedExpiration.exptime(ttl: nil, now: now) == 0)
        #expect(MemcachedExpiration.exptime(ttl: 0, now: now) == -1)
        #expect(MemcachedExpiration.exptime(ttl: -5, now: now) == -1)
        #expect(MemcachedExpiration.exptime(ttl: 1, now: now) == 1)
        #expect(MemcachedExpiration.exptime(ttl: 2_592_000, now: now) == 2_592_000)
        #expect(MemcachedExpiration.exptime(ttl: 2_592_001, now: now) == Int64(now) + 2_592_001)
        #expect(MemcachedExpiration.exptime(ttl: 400 * 86_400, now: now) == Int64(now) + 400 * 86_400)
        #expect(MemcachedExpiration.exptime(ttl: Int.max, now: now) == Int64(Int32.max))
    }

    @Test("server lists parse from memcached:// strings, bare lists and Unix socket paths")
    func serverLists() throws {
        #expect(try MemcachedConfiguration(url: "memcached://host1:11211,host2:11212").servers == [.tcp(host: "host1", port: 11211), .tcp(host: "host2", port: 11212)])
        #expect(try MemcachedConfiguration(url: "memcached://cache").servers == [.tcp(host: "cache", port: 11211)])
        #expect(try MemcachedConfiguration(url: "memcache://a:1/").servers == [.tcp(host: "a", port: 1)])
        #expect(try MemcachedConfiguration(url: "memcached://[::1]:11300,10.0.0.1").servers == [.tcp(host: "::1", port: 11300), .tcp(host: "10.0.0.1", port: 11211)])
        #expect(try MemcachedConfiguration(url: "unix:///run/memcached/memcached.sock").servers == [.unix(path: "/run/memcached/memcached.sock")])
        #expect(try MemcachedConfiguration(url: "127.0.0.1:11211, /tmp/m.sock").servers == [.tcp(host: "127.0.0.1", port: 11211), .unix(path: "/tmp/m.sock")])
        for bad in ["", "memcached://", "memcached://a,,b", "memcached://a:0", "memcached://a:70000", "memcached://a:x", "redis://a", "unix://relative", "memcached://::1", "memcached://[::1", "memcached://u@h"] {
            let error = #expect(throws: SessionError.self, "\(bad)") { try MemcachedConfiguration(url: bad) }
            #expect(error?.code == .invalidConfiguration)
        }
        #expect(MemcachedConfiguration.Server.tcp(host: "10.0.0.1", port: 11211).ketamaName == "10.0.0.1")
        #expect(MemcachedConfiguration.Server.tcp(host: "10.0.0.1", port: 11212).ketamaName == "10.0.0.1:11212")
    }

    @Test("invalid configurations are refused when the client is created")
    func invalidConfiguration() {
        for configuration in [
            MemcachedConfiguration(servers: []),
            MemcachedConfiguration(servers: [.tcp(host: "a", port: 1), .tcp(host: "a", port: 1)]),
            MemcachedConfiguration(connectionsPerServer: 0),
            MemcachedConfiguration(commandTimeout: .zero),
            MemcachedConfiguration(maxItemSize: 10),
        ] {
            let error = #expect(throws: SessionError.self) { try MemcachedClient(configuration: configuration) }
            #expect(error?.code == .invalidConfiguration)
        }
    }
}
