import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Redis Cluster for tests: `primaries` primaries with `replicasPerPrimary` replicas each,
/// every node a redis-server on a free loopback port (its cluster bus on port + 10000), joined
/// with `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`.
///
/// ```swift
/// let cluster = try await RedisCluster.start()
/// defer { cluster.stop() }
/// let store = try RedisSessionStore(url: cluster.url)
/// ```
public final class RedisCluster: Sendable {
    /// The nodes' client ports, in start order.
    public let ports: [Int]
    private let servers: [RedisServer]

    /// Whether cluster tests should run: redis-server and redis-cli are installed, or `CI=true`.
    public static var shouldRun: Bool {
        ServerProcess.shouldRun(needing: "redis-server") && ServerProcess.shouldRun(needing: "redis-cli")
    }

    /// `redis+cluster://127.0.0.1:<port1>,127.0.0.1:<port2>` (two seeds).
    public var url: String {
        "redis+cluster://" + ports.prefix(2).map { "127.0.0.1:\($0)" }.joined(separator: ",")
    }

    private init(ports: [Int], servers: [RedisServer]) {
        self.ports = ports
        self.servers = servers
    }

    deinit { stop() }

    /// Starts the nodes, creates the cluster and waits until every node sees it healthy, with
    /// every replica in sync with its primary.
    ///
    /// - Parameter nodeTimeout: `cluster-node-timeout` in milliseconds; short values make
    ///   failover tests fast.
    /// - Throws: ``FixtureError`` when a binary is missing or the cluster does not form in time;
    ///   everything started is stopped first.
    public static func start(primaries: Int = 3, replicasPerPrimary: Int = 1, nodeTimeout: Int = 1500) async throws -> RedisCluster {
        // Ports free when picked can be taken before the nodes bind them: then everything is
        // stopped and the cluster starts again on other ports.
        var attempt = 1
        while true {
            do {
                return try await startOnce(primaries: primaries, replicasPerPrimary: replicasPerPrimary, nodeTimeout: nodeTimeout)
            } catch let error as FixtureError where attempt < 6 && error.description.contains("Address already in use") {
                attempt += 1
            }
        }
    }

    private static func startOnce(primaries: Int, replicasPerPrimary: Int, nodeTimeout: Int) async throws -> RedisCluster {
        guard ServerProcess.findExecutable("redis-cli") != nil else {
            throw FixtureError("redis-cli is not installed; install it with `apt-get install -y redis-tools` (tests needing it skip unless CI=true)")
        }
        let count = primaries * (1 + replicasPerPrimary)
        let ports = try clusterPorts(count)
        var servers: [RedisServer] = []
        do {
            for port in ports {
                servers.append(try await RedisServer.start(.init(extraArguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf",
                    "--cluster-node-timeout", "\(nodeTimeout)", "--cluster-require-full-coverage", "yes",
                    "--cluster-allow-replica-migration", "no",
                ]), port: port))
            }
            let cluster = RedisCluster(ports: ports, servers: servers)
            let create = try await RedisCLI.run(
                ["--cluster", "create"] + ports.map { "127.0.0.1:\($0)" } + ["--cluster-replicas", "\(replicasPerPrimary)", "--cluster-yes"],
                timeout: .seconds(60))
            guard create.status == 0 else {
                throw FixtureError("redis-cli --cluster create failed (status \(create.status)):\n\(create.output.suffix(2000))")
            }
            try await cluster.waitUntilHealthy(timeout: .seconds(60))
            return cluster
        } catch {
            for server in servers { server.stop() }
            throw error
        }
    }

    /// Stops every node.
    public func stop() {
        for server in servers { server.stop() }
    }

    /// Kills the node on `port` (SIGKILL), as a crash would.
    public func kill(port: Int) {
        servers.first { $0.port == port }?.stop()
    }

    /// Whether the node on `port` is running.
    public func isRunning(port: Int) -> Bool {
        servers.first { $0.port == port }?.isRunning ?? false
    }

    /// Runs `redis-cli -p port <arguments>` and returns its output (raw, one reply per line).
    public func command(port: Int, _ arguments: [String]) async throws -> String {
        try await RedisCLI.command(port: port, arguments)
    }

    /// One node as `CLUSTER NODES` describes it.
    public struct Node: Sendable, Hashable {
        public var id: String
        public var port: Int
        public var isPrimary: Bool
        /// For a replica, its primary's ID.
        public var primaryID: String?
        public var failed: Bool
        /// The slot ranges it serves (primaries).
        public var slots: [ClosedRange<Int>]
    }

    /// The nodes as the node on `port` sees them.
    public func nodes(askingPort port: Int) async throws -> [Node] {
        let text = try await command(port: port, ["CLUSTER", "NODES"])
        return text.split(whereSeparator: \.isNewline).compactMap { line -> Node? in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 8 else { return nil }
            let address = fields[1].split(separator: "@")[0]
            guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
            let flags = fields[2].split(separator: ",")
            let slots = fields.dropFirst(8).compactMap { range -> ClosedRange<Int>? in
                guard !range.hasPrefix("[") else { return nil }
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 1 { return bounds[0]...bounds[0] }
                return bounds.count == 2 && bounds[0] <= bounds[1] ? bounds[0]...bounds[1] : nil
            }
            return Node(id: fields[0], port: port, isPrimary: flags.contains("master"),
                        primaryID: fields[3] == "-" ? nil : fields[3], failed: flags.contains("fail"), slots: slots)
        }
    }

    /// Waits until the replicas of the primary on `port` have received everything it has written
    /// (their acknowledged offset equals its `master_repl_offset`).
    public func waitForReplication(primaryPort port: Int, timeout: Duration = .seconds(30)) async throws {
        var last = ""
        let caughtUp = try await Poll.holds(within: timeout, every: .milliseconds(50)) {
            last = try await command(port: port, ["INFO", "replication"])
            let lines = last.split(whereSeparator: \.isNewline)
            let offset = lines.first { $0.hasPrefix("master_repl_offset:") }.flatMap { Int($0.split(separator: ":")[1]) }
            let replicas = lines.filter { $0.hasPrefix("slave") && $0.contains("offset=") }
            let caughtUp = replicas.allSatisfy { line in
                line.split(separator: ",").first { $0.hasPrefix("offset=") }.flatMap { Int($0.dropFirst(7)) } == offset
            }
            return offset != nil && !replicas.isEmpty && caughtUp
        }
        if caughtUp { return }
        throw FixtureError("the replicas of \(port) did not catch up within \(timeout): \(last)")
    }

    /// Waits until every running node reports `cluster_state:ok`, knows every running node
    /// as healthy, and every replica's link to its primary is up.
    public func waitUntilHealthy(timeout: Duration) async throws {
        var last = ""
        let healthy = try await Poll.holds(within: timeout, every: .milliseconds(200)) {
            do {
                guard let problem = try await healthProblem() else { return true }
                last = problem
            } catch {
                last = "\(error)"
            }
            return false
        }
        if healthy { return }
        throw FixtureError("the Redis Cluster on ports \(ports) did not become healthy within \(timeout): \(last)")
    }

    /// What is not healthy yet, or nil when all is well.
    private func healthProblem() async throws -> String? {
        let running = ports.filter { isRunning(port: $0) }
        for port in running {
            let info = try await command(port: port, ["CLUSTER", "INFO"])
            guard info.contains("cluster_state:ok") else { return "node \(port) reports \(info.split(whereSeparator: \.isNewline).first ?? "")" }
            let nodes = try await nodes(askingPort: port)
            let healthy = nodes.filter { !$0.failed && running.contains($0.port) }
            guard healthy.count == running.count else { return "node \(port) sees \(healthy.count) of \(running.count) running nodes healthy" }
            if let me = nodes.first(where: { $0.port == port }), !me.isPrimary {
                let replication = try await command(port: port, ["INFO", "replication"])
                guard replication.contains("master_link_status:up") else { return "replica \(port) is not in sync yet" }
            }
        }
        return nil
    }

    /// Free ports whose cluster bus port (+10000) is free too.
    private static func clusterPorts(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts < 10_000 else { throw FixtureError("found no free port pairs (p, p+10000) for a Redis Cluster") }
            let port = Int.random(in: 20_000...45_000)
            if ports.contains(port) || ports.contains(port + 10_000) || ports.contains(port - 10_000) { continue }
            if isFree(port) && isFree(port + 10_000) { ports.append(port) }
        }
        return ports
    }
}

/// Whether a TCP port on 127.0.0.1 can be bound right now.
private func isFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return Loopback.bind(fd, port: port)
}

/// Runs `redis-cli` without blocking a thread of Swift's cooperative pool.
public enum RedisCLI {
    /// Runs redis-cli with `arguments`; its output (standard output and error) and exit status.
    public static func run(_ arguments: [String], timeout: Duration) async throws -> (status: Int32, output: String) {
        guard let executable = ServerProcess.findExecutable("redis-cli") else {
            throw FixtureError("redis-cli is not installed; install it with `apt-get install -y redis-tools`")
        }
        let outputPath = NSTemporaryDirectory() + "sessionkit-redis-cli-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let exited = Latch()
        process.terminationHandler = { _ in exited.open() }
        try process.run()
        guard await exited.wait(within: timeout) else {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw FixtureError("redis-cli \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        process.waitUntilExit()
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        return (process.terminationStatus, text)
    }
}
