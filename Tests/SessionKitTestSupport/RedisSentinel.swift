import Foundation

/// A real Redis Sentinel setup for tests: one primary, one replica and three Sentinels
/// (`redis-server <config> --sentinel`) monitoring the primary as ``masterName`` with quorum 2,
/// `down-after-milliseconds` 1000 and a short failover timeout, all on free loopback ports.
///
/// ```swift
/// let setup = try await RedisSentinel.start()
/// defer { setup.stop() }
/// let store = try RedisSessionStore(url: setup.url)
/// ```
public final class RedisSentinel: Sendable {
    /// The name the Sentinels monitor the primary under.
    public let masterName = "mymaster"
    /// The data nodes: the first starts as primary, the second as its replica.
    public let servers: [RedisServer]
    /// The Sentinels' ports.
    public let sentinelPorts: [Int]
    private let sentinels: [ServerProcess]

    /// Whether Sentinel tests should run: redis-server (which runs Sentinels with `--sentinel`)
    /// and redis-cli are installed, or `CI=true`.
    public static var shouldRun: Bool {
        ServerProcess.shouldRun(needing: "redis-server") && ServerProcess.shouldRun(needing: "redis-cli")
    }

    /// `redis+sentinel://127.0.0.1:<s1>,127.0.0.1:<s2>,127.0.0.1:<s3>/mymaster`.
    public var url: String {
        "redis+sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/" + masterName
    }

    private init(servers: [RedisServer], sentinelPorts: [Int], sentinels: [ServerProcess]) {
        self.servers = servers
        self.sentinelPorts = sentinelPorts
        self.sentinels = sentinels
    }

    deinit { stop() }

    /// Starts the primary, the replica (waiting until it is in sync) and the Sentinels (waiting
    /// until each knows the replica and the other two Sentinels).
    ///
    /// - Throws: ``FixtureError`` when a binary is missing or the setup is not ready in time;
    ///   everything started is stopped first.
    public static func start(downAfter: Int = 1000, failoverTimeout: Int = 3000) async throws -> RedisSentinel {
        guard let executable = RedisServer.executable else {
            throw FixtureError("redis-server is not installed; install it with `apt-get install -y redis-server` (tests needing it skip unless CI=true)")
        }
        guard ServerProcess.findExecutable("redis-cli") != nil else {
            throw FixtureError("redis-cli is not installed; install it with `apt-get install -y redis-tools` (tests needing it skip unless CI=true)")
        }
        var servers: [RedisServer] = []
        var sentinels: [ServerProcess] = []
        do {
            let primary = try await RedisServer.start()
            servers.append(primary)
            let replica = try await RedisServer.start(.init(extraArguments: ["--replicaof", "127.0.0.1", "\(primary.port)"]))
            servers.append(replica)
            try await waitFor(timeout: .seconds(30), "replica \(replica.port) in sync") {
                try await RedisCLI.command(port: replica.port, ["INFO", "replication"]).contains("master_link_status:up")
            }
            var ports: [Int] = []
            for _ in 0..<3 {
                let sentinel = try await ServerProcess.retryingOnPortClash { port in
                    (port: port, process: try await startSentinel(executable: executable, port: port, primary: primary, downAfter: downAfter, failoverTimeout: failoverTimeout))
                }
                sentinels.append(sentinel.process)
                ports.append(sentinel.port)
            }
            let setup = RedisSentinel(servers: servers, sentinelPorts: ports, sentinels: sentinels)
            for port in ports {
                try await waitFor(timeout: .seconds(30), "Sentinel \(port) to know the replica and the other Sentinels") {
                    let fields = try await setup.masterState(sentinelPort: port)
                    return fields["num-slaves"] == "1" && fields["num-other-sentinels"] == "2"
                }
            }
            return setup
        } catch {
            for sentinel in sentinels { sentinel.stop() }
            for server in servers { server.stop() }
            throw error
        }
    }

    /// Starts one Sentinel on `port`, monitoring `primary`, and waits until it accepts connections.
    private static func startSentinel(executable: String, port: Int, primary: RedisServer, downAfter: Int, failoverTimeout: Int) async throws -> ServerProcess {
        let directory = primary.directory + "/sentinel-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = """
            port \(port)
            bind 127.0.0.1
            protected-mode no
            daemonize no
            dir \(directory)
            sentinel monitor mymaster 127.0.0.1 \(primary.port) 2
            sentinel down-after-milliseconds mymaster \(downAfter)
            sentinel failover-timeout mymaster \(failoverTimeout)
            sentinel parallel-syncs mymaster 1

            """
        let path = directory + "/sentinel.conf"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        let process = ServerProcess(executable: executable, arguments: [path, "--sentinel"], readiness: .tcp(port: port), logPath: directory + "/sentinel.log")
        try await process.start()
        return process
    }

    /// Stops the Sentinels and the data nodes.
    public func stop() {
        for sentinel in sentinels { sentinel.stop() }
        for server in servers { server.stop() }
    }

    /// `SENTINEL MASTER mymaster` as asked of one Sentinel, by field name.
    public func masterState(sentinelPort: Int) async throws -> [String: String] {
        let lines = try await RedisCLI.command(port: sentinelPort, ["SENTINEL", "MASTER", masterName]).split(whereSeparator: \.isNewline).map(String.init)
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: lines.count - 1, by: 2) { fields[lines[index]] = lines[index + 1] }
        return fields
    }

    /// The primary's port as the first reachable Sentinel reports it.
    public func reportedPrimaryPort() async throws -> Int {
        var lastError: (any Error)?
        for port in sentinelPorts {
            do {
                let lines = try await RedisCLI.command(port: port, ["SENTINEL", "get-master-addr-by-name", masterName]).split(whereSeparator: \.isNewline)
                if lines.count == 2, let primary = Int(lines[1]) { return primary }
            } catch {
                lastError = error
            }
        }
        throw FixtureError("no Sentinel reported the primary: \(String(describing: lastError))")
    }

    /// Polls `condition` (the Sentinels' and servers' state) every 100 ms until it holds; an
    /// error counts as not yet; fails after `timeout` (see ``Poll``).
    public static func waitFor(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
        var lastError: (any Error)?
        let held = try await Poll.holds(within: timeout, every: .milliseconds(100)) {
            do {
                return try await condition()
            } catch {
                lastError = error
                return false
            }
        }
        if held { return }
        throw FixtureError("waited \(timeout) for \(what) in vain\(lastError.map { ": \($0)" } ?? "")")
    }
}

extension RedisCLI {
    /// Runs `redis-cli -p port <arguments>` and returns its trimmed output; a failure throws.
    public static func command(port: Int, _ arguments: [String]) async throws -> String {
        let result = try await run(["-p", "\(port)"] + arguments, timeout: .seconds(30))
        guard result.status == 0 else { throw FixtureError("redis-cli -p \(port) \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
