import SessionKit
@_spi(Engine) @testable import SessionKitRedis
import SessionKitTestSupport
import Testing

@Suite("Redis Cluster and Sentinel: slots, URLs, slot maps")
struct RedisClusterUnitTests {
    @Test("CRC16-XMODEM check value: \"123456789\" is 0x31C3")
    func crcCheckValue() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([UInt8]()) == 0)
    }

    // Slots as `CLUSTER KEYSLOT` answers them on redis-server 7.0.
    @Test("hash slots and hash tags", arguments: [
        ("123456789", 12739), ("foo", 12182), ("bar", 5061), ("session:abc", RedisClient.hashSlot(of: "session:abc")),
        ("{user1000}.following", 3443), ("{user1000}.followers", 3443), ("user1000", 3443),
        ("foo{}{bar}", RedisClient.hashSlot(of: "foo{}{bar}")), ("foo{{bar}}zap", RedisClient.hashSlot(of: "{bar")),
        ("foo{bar}{zap}", 5061), ("{}", RedisClient.hashSlot(of: "{}")),
    ])
    func slots(_ key: String, _ slot: Int) {
        #expect(RedisClient.hashSlot(of: key) == slot)
    }

    @Test("an empty hash tag hashes the whole key")
    func emptyTag() {
        #expect(RedisClient.hashSlot(of: "foo{}{bar}") == Int(HashSlot.crc16(Array("foo{}{bar}".utf8))) & 16383)
        #expect(RedisClient.hashSlot(of: "a{b") == Int(HashSlot.crc16(Array("a{b".utf8))) & 16383)
    }

    @Test("redis+cluster:// URLs")
    func clusterURL() throws {
        let configuration = try RedisConfiguration(url: "redis+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002")
        #expect(configuration.topology == .cluster(seeds: [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 6379), .tcp(host: "::1", port: 7002)]))
        #expect(configuration.username == "app")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == 0)
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis+cluster://h1:1,h2:2/3") }
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis+cluster://h1:1,,h2:2") }
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis+cluster://h1:99999") }
        #expect(throws: SessionError.self) { try RedisClient(configuration: RedisConfiguration(topology: .cluster(seeds: []))) }
        var withDatabase = try RedisConfiguration(url: "redis+cluster://h1:1")
        withDatabase.database = 2
        #expect(throws: SessionError.self) { try RedisClient(configuration: withDatabase) }
    }

    @Test("redis+sentinel:// URLs")
    func sentinelURL() throws {
        let configuration = try RedisConfiguration(url: "redis+sentinel://:secret@s1,s2:26380/mymaster/2?sentinel_password=sp")
        #expect(configuration.topology == .sentinel(masterName: "mymaster", sentinels: [.tcp(host: "s1", port: 26379), .tcp(host: "s2", port: 26380)]))
        #expect(configuration.password == "secret")
        #expect(configuration.username == nil)
        #expect(configuration.sentinelPassword == "sp")
        #expect(configuration.database == 2)
        #expect(!configuration.description.contains("secret"))
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis+sentinel://s1:26379") }
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "redis+sentinel://s1:26379/m/x") }
        #expect(throws: SessionError.self) { try RedisConfiguration(url: "rediss+sentinel://s1:26379/m") }
    }

    @Test("the routing key of a command")
    func routingKey() {
        #expect(ClusterRouter.key(of: ["GET", "k"]) == Array("k".utf8))
        #expect(ClusterRouter.key(of: ["SET", "k", "v", "EX", "5"]) == Array("k".utf8))
        #expect(ClusterRouter.key(of: ["PING"]) == nil)
        #expect(ClusterRouter.key(of: ["INFO", "stats"]) == nil)
        #expect(ClusterRouter.key(of: ["EVAL", "return 1", "1", "k", "a"]) == Array("k".utf8))
        #expect(ClusterRouter.key(of: ["EVAL", "return 1", "0"]) == nil)
    }

    @Test("redirection targets")
    func redirections() {
        let origin = RedisConfiguration.Address.tcp(host: "10.0.0.9", port: 7000)
        #expect(ClusterRouter.address("127.0.0.1:6381", from: origin) == .tcp(host: "127.0.0.1", port: 6381))
        #expect(ClusterRouter.address(":6381", from: origin) == .tcp(host: "10.0.0.9", port: 6381))
        #expect(ClusterRouter.address("::1:6381", from: origin) == .tcp(host: "::1", port: 6381))
        #expect(ClusterRouter.address("host", from: origin) == nil)
        #expect(ClusterRouter.address("host:0", from: origin) == nil)
    }

    static func node(_ port: Int, _ role: String, health: String = "online", ip: String = "127.0.0.1") -> [(String, RESPValue)] {
        [("id", .bulkString(Array("n\(port)".utf8))), ("port", .integer(Int64(port))), ("ip", .bulkString(Array(ip.utf8))),
         ("endpoint", .bulkString(Array(ip.utf8))), ("role", .bulkString(Array(role.utf8))), ("health", .bulkString(Array(health.utf8)))]
    }

    static func resp2(_ fields: [(String, RESPValue)]) -> RESPValue {
        var items: [RESPValue] = []
        for (name, value) in fields { items += [.bulkString(Array(name.utf8)), value] }
        return .array(items)
    }

    static func resp3(_ fields: [(String, RESPValue)]) -> RESPValue {
        var pairs: [(key: RESPValue, value: RESPValue)] = []
        for (name, value) in fields { pairs.append((key: .bulkString(Array(name.utf8)), value: value)) }
        return .map(pairs)
    }

    @Test("CLUSTER SHARDS in RESP2 and RESP3, a failed primary beside its replacement", arguments: [false, true])
    func shards(_ useResp3: Bool) throws {
        func wrap(_ fields: [(String, RESPValue)]) -> RESPValue {
            useResp3 ? Self.resp3(fields) : Self.resp2(fields)
        }
        let reply = RESPValue.array([
            wrap([("slots", .array([.integer(0), .integer(5460)])),
                  ("nodes", .array([wrap(Self.node(7000, "master")), wrap(Self.node(7003, "replica"))]))]),
            wrap([("slots", .array([.integer(5461), .integer(10922), .integer(16000), .integer(16383)])),
                  ("nodes", .array([wrap(Self.node(7001, "master", health: "failed")), wrap(Self.node(7004, "master"))]))]),
            wrap([("slots", .array([.integer(10923), .integer(15999)])),
                  ("nodes", .array([wrap(Self.node(7002, "master", ip: "?")), wrap(Self.node(7005, "replica"))]))]),
        ])
        let map = try SlotMap.fromShards(reply, askedHost: "10.1.1.1")
        #expect(map.primary(forSlot: 0) == .tcp(host: "127.0.0.1", port: 7000))
        #expect(map.primary(forSlot: 5460) == .tcp(host: "127.0.0.1", port: 7000))
        #expect(map.primary(forSlot: 5461) == .tcp(host: "127.0.0.1", port: 7004))
        #expect(map.primary(forSlot: 16383) == .tcp(host: "127.0.0.1", port: 7004))
        #expect(map.primary(forSlot: 12000) == .tcp(host: "10.1.1.1", port: 7002))
        #expect(map.coveredSlots == 16384)
        #expect(map.primaries.count == 3)
        #expect(map.nodes.count == 6)
        #expect(throws: SessionError.self) { try SlotMap.fromShards(.integer(1), askedHost: "h") }
        #expect(throws: SessionError.self) { try SlotMap.fromShards(.array([.integer(1)]), askedHost: "h") }
    }

    @Test("CLUSTER SHARDS of a tls-cluster: a TLS client uses each node's tls-port, a plaintext client its port")
    func shardsWithTLSPorts() throws {
        let node: [(String, RESPValue)] = Self.node(7000, "master") + [("tls-port", .integer(7100))]
        let reply = RESPValue.array([
            Self.resp3([("slots", .array([.integer(0), .integer(16383)])), ("nodes", .array([Self.resp3(node)]))]),
        ])
        #expect(try SlotMap.fromShards(reply, askedHost: "h", tls: true).primary(forSlot: 0) == .tcp(host: "127.0.0.1", port: 7100))
        #expect(try SlotMap.fromShards(reply, askedHost: "h").primary(forSlot: 0) == .tcp(host: "127.0.0.1", port: 7000))
        // A node of a TLS-only cluster (port 0 for plaintext) reports only its tls-port.
        let tlsOnly: [(String, RESPValue)] = Self.node(7000, "master").filter { $0.0 != "port" } + [("tls-port", .integer(7100))]
        let onlyTLS = RESPValue.array([
            Self.resp3([("slots", .array([.integer(0), .integer(16383)])), ("nodes", .array([Self.resp3(tlsOnly)]))]),
        ])
        #expect(try SlotMap.fromShards(onlyTLS, askedHost: "h", tls: true).primary(forSlot: 0) == .tcp(host: "127.0.0.1", port: 7100))
    }

    @Test("CLUSTER SLOTS (servers before 7.0)")
    func slotsReply() throws {
        func node(_ host: String, _ port: Int) -> RESPValue { .array([.bulkString(Array(host.utf8)), .integer(Int64(port)), .bulkString(Array("id".utf8))]) }
        let reply = RESPValue.array([
            .array([.integer(0), .integer(8191), node("127.0.0.1", 7000), node("127.0.0.1", 7002)]),
            .array([.integer(8192), .integer(16383), node("", 7001)]),
        ])
        var map = try SlotMap.fromSlots(reply, askedHost: "10.2.2.2")
        #expect(map.primary(forSlot: 8191) == .tcp(host: "127.0.0.1", port: 7000))
        #expect(map.primary(forSlot: 8192) == .tcp(host: "10.2.2.2", port: 7001))
        #expect(map.nodes.contains(.tcp(host: "127.0.0.1", port: 7002)))
        map.assign(slot: 5, to: .tcp(host: "127.0.0.1", port: 7009))
        #expect(map.primary(forSlot: 5) == .tcp(host: "127.0.0.1", port: 7009))
        #expect(map.primary(forSlot: 6) == .tcp(host: "127.0.0.1", port: 7000))
        #expect(throws: SessionError.self) { try SlotMap.fromSlots(.array([.array([.integer(5), .integer(1), node("h", 1)])]), askedHost: "h") }
    }
}

@Suite("Redis Cluster and Sentinel: nothing reachable")
struct RedisTopologyUnreachableTests {
    /// Ports nothing listens on, held for the whole run so that no other test's server takes them.
    static let held: [HeldPort] = (0..<2).map { _ in try! HeldPort() }

    static func closedPorts() throws -> [Int] {
        held.map(\.port)
    }

    @Test("no Sentinel answers: storeUnavailable naming each Sentinel")
    func noSentinel() async throws {
        let ports = try Self.closedPorts()
        let client = try RedisClient(configuration: RedisConfiguration(testing: "redis+sentinel://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/mymaster"))
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) { try await client.send("PING") }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("no Sentinel gave the address of primary 'mymaster'") == true, "\(String(describing: error))")
        #expect(error?.message.contains("\(ports[1])") == true, "every Sentinel was asked")
    }

    @Test("no cluster seed answers: storeUnavailable naming the seeds")
    func noSeed() async throws {
        let ports = try Self.closedPorts()
        var configuration = try RedisConfiguration(testing: "redis+cluster://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])")
        configuration.reconnectDelay = .milliseconds(5)
        configuration.maxReconnectDelay = .milliseconds(20)
        let client = try RedisClient(configuration: configuration)
        defer { client.close() }
        let error = await #expect(throws: SessionError.self) { try await client.send("GET", "k") }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("\(ports[0])") == true && error?.message.contains("\(ports[1])") == true, "\(String(describing: error))")
    }
}

@Suite("Redis Cluster: hostile slot maps")
struct RedisHostileSlotMapTests {
    @Test("slot ranges outside 0...16383 and huge node lists are bounded, never a crash")
    func bounded() throws {
        func node(_ port: Int) -> RESPValue { .array([.bulkString(Array("h".utf8)), .integer(Int64(port))]) }
        var ranges: [RESPValue] = [
            .array([.integer(20000), .integer(30000), node(1)]),
            .array([.integer(-5), .integer(-1), node(2)]),
            .array([.integer(16000), .integer(99999), node(3)]),
        ]
        for index in 0..<20_000 { ranges.append(.array([.integer(Int64(index % 16384)), .integer(Int64(index % 16384)), node(10_000 + index)])) }
        let map = try SlotMap.fromSlots(.array(ranges), askedHost: "h")
        #expect(map.primaries.count == SlotMap.maximumNodes)
        #expect(map.coveredSlots == 16384)
        var moved = map
        for port in 40_000..<40_100 { moved.assign(slot: 7, to: .tcp(host: "x", port: port)) }
        moved.assign(slot: 99_999, to: .tcp(host: "x", port: 1))
        #expect(moved.primaries.count == SlotMap.maximumNodes, "a full map ignores redirections to yet more nodes")
    }
}
