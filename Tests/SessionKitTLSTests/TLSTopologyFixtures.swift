import Foundation
import SessionKitTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs when redis-server, redis-cli and openssl are installed, or under CI=true.
    static var needsRedisToolsAndOpenSSL: ConditionTrait {
        .enabled(if: (RedisCluster.shouldRun && !TestCertificates.openSSLMissing) || ServerProcess.isCI,
                 "redis-server, redis-cli or the openssl command line is not installed (apt-get install -y redis-server redis-tools openssl); set CI=true to make this a failure")
    }
}

/// The TLS options every node of a TLS deployment gets: a TLS port beside the plain one (which
/// the fixtures use for their own checks with redis-cli), and TLS between the nodes.
func tlsNodeArguments(tlsPort: Int, certificates: TestCertificates) -> [String] {
    [
        "--tls-port", "\(tlsPort)", "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
        "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", "no", "--tls-replication", "yes",
    ]
}

/// A Redis Cluster of three primaries with `tls-cluster yes`: the cluster bus and the ports the
/// nodes announce (`CLUSTER SHARDS`' `tls-port`, `MOVED`, `ASK`) are TLS. Built by hand
/// (`ADDSLOTSRANGE`, `MEET` with the bus port) because `redis-cli --cluster create` would meet
/// the nodes on their plain ports.
final class TLSRedisCluster: Sendable {
    struct Node: Sendable {
        let server: RedisServer
        let tlsPort: Int
        let busPort: Int
        let id: String
        let slots: ClosedRange<Int>
    }

    let nodes: [Node]

    private init(nodes: [Node]) {
        self.nodes = nodes
    }

    deinit { stop() }

    /// `rediss+cluster://` through the first two nodes' TLS ports, trusting the test CA.
    func url(certificates: TestCertificates) -> String {
        "rediss+cluster://" + nodes.prefix(2).map { "127.0.0.1:\($0.tlsPort)" }.joined(separator: ",") + "?ssl_ca_certs=\(certificates.caFile)"
    }

    static func start(certificates: TestCertificates) async throws -> TLSRedisCluster {
        let ranges = [0...5460, 5461...10922, 10923...16383]
        var nodes: [Node] = []
        do {
            for range in ranges {
                let (tlsPort, busPort) = (try ServerProcess.freePort(), try ServerProcess.freePort())
                let server = try await RedisServer.start(RedisServer.Options(extraArguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                    "--cluster-port", "\(busPort)", "--tls-cluster", "yes",
                ] + tlsNodeArguments(tlsPort: tlsPort, certificates: certificates)))
                let id = try await RedisCLI.command(port: server.port, ["CLUSTER", "MYID"])
                _ = try await RedisCLI.command(port: server.port, ["CLUSTER", "ADDSLOTSRANGE", "\(range.lowerBound)", "\(range.upperBound)"])
                nodes.append(Node(server: server, tlsPort: tlsPort, busPort: busPort, id: id, slots: range))
            }
            for node in nodes.dropFirst() {
                _ = try await RedisCLI.command(port: nodes[0].server.port, ["CLUSTER", "MEET", "127.0.0.1", "\(node.tlsPort)", "\(node.busPort)"])
            }
            let cluster = TLSRedisCluster(nodes: nodes)
            try await RedisSentinel.waitFor(timeout: .seconds(60), "the TLS cluster to be ok on every node") {
                for node in nodes {
                    let info = try await RedisCLI.command(port: node.server.port, ["CLUSTER", "INFO"])
                    guard info.contains("cluster_state:ok"), info.contains("cluster_known_nodes:3") else { return false }
                }
                return true
            }
            return cluster
        } catch {
            for node in nodes { node.server.stop() }
            throw error
        }
    }

    /// The node that serves `slot`.
    func owner(of slot: Int) -> Node {
        nodes.first { $0.slots.contains(slot) }!
    }

    func stop() {
        for node in nodes { node.server.stop() }
    }
}

/// A primary, a replica and three Sentinels, all with TLS ports: the Sentinels monitor the
/// primary's TLS port and talk TLS to the data nodes and each other (`tls-replication yes`).
final class TLSRedisSentinel: Sendable {
    let primary: RedisServer
    let primaryTLSPort: Int
    let replica: RedisServer
    /// (plain port, TLS port) of each Sentinel.
    let sentinels: [(port: Int, tlsPort: Int)]
    private let processes: [ServerProcess]

    private init(primary: RedisServer, primaryTLSPort: Int, replica: RedisServer, sentinels: [(port: Int, tlsPort: Int)], processes: [ServerProcess]) {
        self.primary = primary
        self.primaryTLSPort = primaryTLSPort
        self.replica = replica
        self.sentinels = sentinels
        self.processes = processes
    }

    deinit { stop() }

    /// `rediss+sentinel://` through the Sentinels' TLS ports, trusting the test CA.
    func url(certificates: TestCertificates) -> String {
        "rediss+sentinel://" + sentinels.map { "127.0.0.1:\($0.tlsPort)" }.joined(separator: ",") + "/mymaster?ssl_ca_certs=\(certificates.caFile)"
    }

    static func start(certificates: TestCertificates) async throws -> TLSRedisSentinel {
        guard let executable = RedisServer.executable else { throw FixtureError("redis-server is not installed") }
        var servers: [RedisServer] = []
        var processes: [ServerProcess] = []
        do {
            let primaryTLSPort = try ServerProcess.freePort()
            let primary = try await RedisServer.start(RedisServer.Options(extraArguments: tlsNodeArguments(tlsPort: primaryTLSPort, certificates: certificates)))
            servers.append(primary)
            let replicaTLSPort = try ServerProcess.freePort()
            let replica = try await RedisServer.start(RedisServer.Options(extraArguments: tlsNodeArguments(tlsPort: replicaTLSPort, certificates: certificates) + [
                "--replicaof", "127.0.0.1", "\(primaryTLSPort)",
            ]))
            servers.append(replica)
            try await RedisSentinel.waitFor(timeout: .seconds(30), "the replica to sync over TLS") {
                try await RedisCLI.command(port: replica.port, ["INFO", "replication"]).contains("master_link_status:up")
            }
            var sentinels: [(port: Int, tlsPort: Int)] = []
            for index in 0..<3 {
                let (port, tlsPort) = (try ServerProcess.freePort(), try ServerProcess.freePort())
                let directory = primary.directory + "/sentinel-\(index)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let configuration = """
                    port \(port)
                    tls-port \(tlsPort)
                    tls-cert-file \(certificates.serverCertificate)
                    tls-key-file \(certificates.serverKey)
                    tls-ca-cert-file \(certificates.caFile)
                    tls-auth-clients no
                    tls-replication yes
                    bind 127.0.0.1
                    protected-mode no
                    daemonize no
                    dir \(directory)
                    sentinel monitor mymaster 127.0.0.1 \(primaryTLSPort) 2
                    sentinel down-after-milliseconds mymaster 2000
                    sentinel failover-timeout mymaster 5000

                    """
                try configuration.write(toFile: directory + "/sentinel.conf", atomically: true, encoding: .utf8)
                let process = ServerProcess(executable: executable, arguments: [directory + "/sentinel.conf", "--sentinel"],
                                            readiness: .tcp(port: port), logPath: directory + "/sentinel.log")
                try await process.start()
                processes.append(process)
                sentinels.append((port, tlsPort))
            }
            let setup = TLSRedisSentinel(primary: primary, primaryTLSPort: primaryTLSPort, replica: replica, sentinels: sentinels, processes: processes)
            for sentinel in sentinels {
                try await RedisSentinel.waitFor(timeout: .seconds(30), "Sentinel \(sentinel.port) to know the replica and the other Sentinels") {
                    let lines = try await RedisCLI.command(port: sentinel.port, ["SENTINEL", "MASTER", "mymaster"]).split(whereSeparator: \.isNewline).map(String.init)
                    var fields: [String: String] = [:]
                    for index in stride(from: 0, to: lines.count - 1, by: 2) { fields[lines[index]] = lines[index + 1] }
                    return fields["num-slaves"] == "1" && fields["num-other-sentinels"] == "2"
                }
            }
            return setup
        } catch {
            for process in processes { process.stop() }
            for server in servers { server.stop() }
            throw error
        }
    }

    func stop() {
        for process in processes { process.stop() }
        primary.stop()
        replica.stop()
    }
}
