// The `redis` suite: session load+save round trips through RedisSessionStore with 50
// concurrent tasks against one redis-server, side by side in the same run with
// `redis-benchmark -c 50 -t get,set` (the C reference, unpipelined) on the same server and
// value size.
//
//   swift run -c release --package-path Benchmarks RedisBenchmark [seconds] [value-bytes] [rounds]
//
// It starts its own redis-server on a free port (or uses REDIS_URL / REDIS_BENCHMARK_PORT when
// set). Commands are counted on both sides: SessionKit's commands/s (a load+save is two) over
// the mean of redis-benchmark's GET and SET requests/s.
//
// The cluster row does the same against a Redis Cluster of 3 primaries (no replicas) that it
// starts on free ports: RedisSessionStore over `redis+cluster://`, beside
// `redis-benchmark --cluster` on the same cluster; commands are counted on every primary.
// Set REDIS_BENCHMARK_CLUSTER=0 to skip it.
//
// The TLS row does the same over TLS (SessionKitTLS) against a redis-server with a TLS port and
// certificates it makes with the openssl command line: RedisSessionStore over `rediss://`
// beside `redis-benchmark --tls`, and beside RedisSessionStore over the same server's plaintext
// port. Set REDIS_BENCHMARK_TLS=0 to skip it.
//
// The last line is `RESULT redis ratio=<ratio> merge_vs_whole=<ratio>
// conditional_vs_plain=<ratio> revocation_vs_plain=<ratio> cluster_ratio=<ratio>
// tls_ratio=<ratio> tls_vs_plain=<ratio>` (without `cluster_ratio`, or the TLS ratios, when
// that row is skipped); tls_ratio is SessionKit over TLS against redis-benchmark --tls,
// tls_vs_plain SessionKit over TLS against SessionKit over plaintext; merge_vs_whole compares the changed-keys
// save mode with whole-session saves through SessionMiddleware, conditional_vs_plain the
// whole-session saves (conditional on the version loaded, never over an ended session) with
// plain `SET`s through the same middleware, revocation_vs_plain sessions bound to users
// (`bindUser`, revocable) with unbound ones.

import Foundation
import SessionKit
import SessionKitRedis
import SessionKitTLS

#if canImport(Glibc)
import Glibc
#endif

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 3 : 3
let valueSize = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 300 : 300
let rounds = CommandLine.arguments.count > 3 ? max(1, Int(CommandLine.arguments[3]) ?? 3) : 3
let concurrency = 50
let keysPerTask = 200

@Sendable func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func which(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Every server process started, killed on exit (also after a failure).
nonisolated(unsafe) var startedProcesses: [Process] = []

func stopServers() {
    for process in startedProcesses where process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    startedProcesses.removeAll()
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RedisBenchmark: \(message)\n".utf8))
    stopServers()
    exit(1)
}

/// Starts redis-server with `arguments`, its output discarded.
func startServer(_ arguments: [String]) throws {
    guard let redisServer = which("redis-server") else { fail("redis-server is not installed (apt-get install -y redis-server)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: redisServer)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    startedProcesses.append(process)
}

// MARK: The server

let host = "127.0.0.1"
let port: Int
if let fixed = ProcessInfo.processInfo.environment["REDIS_BENCHMARK_PORT"].flatMap(Int.init) {
    port = fixed
} else {
    port = freePort()
    try startServer(["--port", "\(port)", "--bind", host, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"])
}
defer { stopServers() }
guard let redisBenchmark = which("redis-benchmark") else { fail("redis-benchmark is not installed (apt-get install -y redis-tools)") }

// BENCHMARK_EVENT_LOOPS=N spreads the client's connections over N event loops (default: the
// configuration's default), to compare 1 and 2 loops side by side.
let eventLoops = ProcessInfo.processInfo.environment["BENCHMARK_EVENT_LOOPS"].flatMap(Int.init)
var configuration = RedisConfiguration(address: .tcp(host: host, port: port))
configuration.commandTimeout = .seconds(10)
if let eventLoops { configuration.eventLoopCount = eventLoops }
let store = try RedisSessionStore(configuration: configuration)

// Wait for the server.
let readyBy = now() + 10
while true {
    if (try? await store.client.send("PING")) != nil { break }
    if now() > readyBy { fail("redis-server on port \(port) did not answer within 10 s") }
    try await Task.sleep(for: .milliseconds(20))
}

// A session-like JSON object of exactly `valueSize` bytes.
func sessionValue(_ seed: Int) -> [UInt8] {
    var text = #"{"user":"user\#(seed)","csrf":"","#
    let filler = max(0, valueSize - text.utf8.count - 9)
    text += #""pad":""# + String(repeating: "x", count: filler) + #""}"#
    var bytes = Array(text.utf8)
    if bytes.count > valueSize { bytes = Array(bytes.prefix(valueSize)) }
    while bytes.count < valueSize { bytes.insert(32, at: 1) }
    return bytes
}

for t in 0..<concurrency {
    for k in 0..<keysPerTask {
        try await store.save(key: "session:\(t):\(k)", value: sessionValue(k), ttl: 3600)
    }
}

// MARK: SessionKit: load + save round trips

struct Run {
    var roundTrips = 0
    var latencies: [Double] = []
}

/// The servers' own count of commands processed (`INFO stats`), summed over `clients`.
func commandsProcessed(_ clients: [RedisClient]) async throws -> Int {
    var total = 0
    for client in clients {
        let info = try await client.send("INFO", "stats").string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("total_commands_processed:") }) else {
            fail("INFO stats has no total_commands_processed")
        }
        total += Int(line.split(separator: ":")[1]) ?? 0
    }
    return total
}

func runSessionKit(duration: Double, store: RedisSessionStore, counted: [RedisClient]) async throws -> (perSecond: Double, latencies: [Double], commandsPerSecond: Double) {
    let commandsBefore = try await commandsProcessed(counted)
    let start = now()
    let deadline = start + duration
    let runs = try await withThrowingTaskGroup(of: Run.self) { group in
        for t in 0..<concurrency {
            group.addTask {
                var run = Run()
                run.latencies.reserveCapacity(100_000)
                var k = 0
                while true {
                    let began = now()
                    let key = "session:\(t):\(k % keysPerTask)"
                    guard let value = try await store.load(key: key) else { fail("session \(key) vanished") }
                    try await store.save(key: key, value: value, ttl: 3600)
                    let ended = now()
                    run.latencies.append(ended - began)
                    run.roundTrips += 1
                    k += 1
                    if ended >= deadline { return run }
                }
            }
        }
        var all: [Run] = []
        for try await run in group { all.append(run) }
        return all
    }
    let elapsed = now() - start
    // Counted by the servers; the INFO commands themselves are the extra ones.
    let commands = try await commandsProcessed(counted) - commandsBefore - counted.count
    let total = runs.reduce(0) { $0 + $1.roundTrips }
    return (Double(total) / elapsed, runs.flatMap(\.latencies).sorted(), Double(commands) / elapsed)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

// MARK: redis-benchmark

struct ReferenceRow {
    var requestsPerSecond: Double
    var p50: Double
    var p99: Double
}

func runRedisBenchmark(requests: Int, port: Int, cluster: Bool = false, extraArguments: [String] = []) throws -> [String: ReferenceRow] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: redisBenchmark)
    process.arguments = (cluster ? ["--cluster"] : []) + extraArguments + ["-h", host, "-p", "\(port)", "-c", "\(concurrency)", "-n", "\(requests)", "-d", "\(valueSize)",
                         "-r", "\(concurrency * keysPerTask)", "-t", "get,set", "--csv"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var rows: [String: ReferenceRow] = [:]
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard fields.count >= 7, let rps = Double(fields[1]) else { continue }
        rows[fields[0]] = ReferenceRow(requestsPerSecond: rps, p50: Double(fields[4]) ?? .nan, p99: Double(fields[6]) ?? .nan)
    }
    guard rows["GET"] != nil, rows["SET"] != nil else {
        fail("could not read redis-benchmark's CSV output:\n\(String(decoding: output, as: UTF8.self))")
    }
    return rows
}

/// redis-benchmark running one command line, unpipelined, `-c 50`: requests per second.
func runRedisBenchmarkCommand(_ command: [String], requests: Int, port: Int) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: redisBenchmark)
    process.arguments = ["-h", host, "-p", "\(port)", "-c", "\(concurrency)", "-n", "\(requests)", "--csv"] + command
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: "\",\"")
        if fields.count >= 2, let rps = Double(fields[1]) { return rps }
    }
    fail("could not read redis-benchmark's CSV output for \(command.first ?? ""):\n\(String(decoding: output, as: UTF8.self))")
}

print("redis suite: \(configuration.eventLoopCount) event loop(s), \(concurrency) concurrent tasks, \(valueSize)-byte values, \(seconds) s per run, \(rounds) alternating rounds, redis-server on \(host):\(port)")
_ = try await runSessionKit(duration: min(1, seconds / 2), store: store, counted: [store.client])  // warm-up

func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1000) }
func rate(_ value: Double) -> String { String(format: "%.0f", value) }

// Alternate the two sides so that both see the same machine; on a shared machine, each side's
// best round is the one least disturbed by other work.
var bestSessionKit: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
var bestReference: (get: ReferenceRow, set: ReferenceRow)?
for round in 1...rounds {
    let sessionKit = try await runSessionKit(duration: seconds, store: store, counted: [store.client])
    let reference = try runRedisBenchmark(requests: max(10_000, Int(sessionKit.commandsPerSecond * seconds / 2)), port: port)
    let get = reference["GET"]!, set = reference["SET"]!
    print("round \(round): SessionKit \(rate(sessionKit.commandsPerSecond)) commands/s; redis-benchmark GET \(rate(get.requestsPerSecond))/s, SET \(rate(set.requestsPerSecond))/s")
    if sessionKit.commandsPerSecond > bestSessionKit?.commandsPerSecond ?? 0 { bestSessionKit = sessionKit }
    let mean = (get.requestsPerSecond + set.requestsPerSecond) / 2
    if mean > ((bestReference?.get.requestsPerSecond ?? 0) + (bestReference?.set.requestsPerSecond ?? 0)) / 2 {
        bestReference = (get, set)
    }
}
let sessionKit = bestSessionKit!
let (get, set) = bestReference!
let skCommands = sessionKit.commandsPerSecond
let referenceMean = (get.requestsPerSecond + set.requestsPerSecond) / 2

print("")
print("Best round of each side:")
print("")
print("| client | what | ops/s | Redis commands/s | p50 ms | p99 ms |")
print("|---|---|---:|---:|---:|---:|")
print("| SessionKit RedisSessionStore | load+save round trip | \(rate(sessionKit.perSecond)) | \(rate(skCommands)) | \(ms(percentile(sessionKit.latencies, 0.5))) | \(ms(percentile(sessionKit.latencies, 0.99))) |")
print("| redis-benchmark (C, unpipelined) | GET | \(rate(get.requestsPerSecond)) | \(rate(get.requestsPerSecond)) | \(String(format: "%.3f", get.p50)) | \(String(format: "%.3f", get.p99)) |")
print("| redis-benchmark (C, unpipelined) | SET | \(rate(set.requestsPerSecond)) | \(rate(set.requestsPerSecond)) | \(String(format: "%.3f", set.p50)) | \(String(format: "%.3f", set.p99)) |")
print("")
print("SessionKit latency is per load+save round trip (two commands); redis-benchmark's is per command.")
print("SessionKit commands/s are counted by the server (INFO stats total_commands_processed); 2 x round trips/s: \(rate(sessionKit.perSecond * 2)).")
let ratio = skCommands / referenceMean
store.client.close()

// MARK: The cluster row

/// Starts 3 primaries in cluster mode, joins them and waits until every node reports the
/// cluster healthy; returns their ports.
func startCluster() async throws -> [Int] {
    guard let redisCLI = which("redis-cli") else { fail("redis-cli is not installed (apt-get install -y redis-tools)") }
    var ports: [Int] = []
    while ports.count < 3 {
        // The cluster bus listens on port + 10000.
        let candidate = Int.random(in: 20_000...45_000)
        if !ports.contains(candidate) && portIsFree(candidate) && portIsFree(candidate + 10_000) { ports.append(candidate) }
    }
    let directory = NSTemporaryDirectory() + "sessionkit-redis-benchmark-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for node in ports {
        try startServer(["--port", "\(node)", "--bind", host, "--save", "", "--appendonly", "no", "--protected-mode", "no",
                         "--daemonize", "no", "--dir", directory, "--cluster-enabled", "yes",
                         "--cluster-config-file", "nodes-\(node).conf", "--cluster-node-timeout", "5000"])
    }
    let clients = try ports.map { try RedisClient(configuration: RedisConfiguration(address: .tcp(host: host, port: $0))) }
    defer { for client in clients { client.close() } }
    let startedBy = now() + 10
    for client in clients {
        while (try? await client.send("PING")) == nil {
            if now() > startedBy { fail("a cluster node did not start within 10 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
    let create = Process()
    create.executableURL = URL(fileURLWithPath: redisCLI)
    create.arguments = ["--cluster", "create"] + ports.map { "\(host):\($0)" } + ["--cluster-replicas", "0", "--cluster-yes"]
    create.standardOutput = FileHandle.nullDevice
    create.standardError = FileHandle.nullDevice
    try create.run()
    create.waitUntilExit()
    guard create.terminationStatus == 0 else { fail("redis-cli --cluster create failed with status \(create.terminationStatus)") }
    let healthyBy = now() + 30
    for client in clients {
        while !((try? await client.send("CLUSTER", "INFO"))?.string?.contains("cluster_state:ok") ?? false) {
            if now() > healthyBy { fail("the benchmark's Redis Cluster did not become healthy within 30 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
    return ports
}

func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}


// Save modes through SessionMiddleware: the same open+modify+save round trip with whole-session
// saves (GET + SET) and with changed-keys saves (GET, then GET + a compare-and-set script).
func sessionHeaders(_ middleware: SessionMiddleware, count: Int, bound: Bool = false) async throws -> [[String]] {
    var headers: [[String]] = []
    for i in 0..<count {
        let result = try await middleware.handle(cookieHeaders: []) { context in
            let session = try await context.session()
            if bound { try session.bindUser("user\(i % 50)", device: "benchmark") }
            session["user"] = .string("user\(i)")
            session["visits"] = 0
        }
        let cookie = result.setCookies[0]
        headers.append([String(cookie[..<cookie.firstIndex(of: ";")!])])
    }
    return headers
}

func runMiddleware(_ middleware: SessionMiddleware, headers: [[String]], duration: Double) async throws -> Double {
    let start = now()
    let deadline = start + duration
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for t in 0..<concurrency {
            group.addTask {
                var done = 0
                var i = t
                while now() < deadline {
                    _ = try await middleware.handle(cookieHeaders: headers[i % headers.count]) { context in
                        let session = try await context.session()
                        session["visits"] = .int((session["visits"]?.intValue ?? 0) + 1)
                    }
                    done += 1
                    i += concurrency
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / (now() - start)
}

/// The Redis store behind a wrapper that is not a `VersionedSessionStore`: the interface then
/// saves loaded sessions with a plain `SET`, which is what conditional saves cost against.
final class PlainWrites: SessionStore {
    let base: RedisSessionStore
    init(_ base: RedisSessionStore) { self.base = base }
    func load(key: String) async throws -> [UInt8]? { try await base.load(key: key) }
    func loadAndTouch(key: String, ttl: Int) async throws -> [UInt8]? { try await base.loadAndTouch(key: key, ttl: ttl) }
    func save(key: String, value: [UInt8], ttl: Int?) async throws { try await base.save(key: key, value: value, ttl: ttl) }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func touch(key: String, ttl: Int?) async throws -> Bool { try await base.touch(key: key, ttl: ttl) }
    /// A plain `SET` too, whether or not the entry still lives.
    func replace(key: String, value: [UInt8], ttl: Int?) async throws -> Bool {
        try await base.save(key: key, value: value, ttl: ttl)
        return true
    }
}

let modeStore = try RedisSessionStore(configuration: configuration)
defer { modeStore.client.close() }
let plainMiddleware = try SessionMiddleware(StoreSessionInterface(
    store: PlainWrites(modeStore), configuration: SessionConfiguration(prefix: "bench-plain:", saveMode: .wholeSession)))
let plainHeaders = try await sessionHeaders(plainMiddleware, count: concurrency * 4)
let wholeMiddleware = try SessionMiddleware(StoreSessionInterface(
    store: modeStore, configuration: SessionConfiguration(prefix: "bench-whole:", saveMode: .wholeSession)))
let mergeMiddleware = try SessionMiddleware(StoreSessionInterface(
    store: modeStore, configuration: SessionConfiguration(prefix: "bench-merge:", saveMode: .changedKeys)))
let wholeHeaders = try await sessionHeaders(wholeMiddleware, count: concurrency * 4)
let mergeHeaders = try await sessionHeaders(mergeMiddleware, count: concurrency * 4)
// Sessions bound to users (user-wide revocation) against unbound ones, same save mode.
let boundMiddleware = try SessionMiddleware(StoreSessionInterface(
    store: modeStore, configuration: SessionConfiguration(prefix: "bench-bound:", saveMode: .wholeSession)))
let boundHeaders = try await sessionHeaders(boundMiddleware, count: concurrency * 4, bound: true)
var wholeRate = 0.0, mergeRate = 0.0, plainRate = 0.0, boundRate = 0.0
for _ in 0..<rounds {
    plainRate = max(plainRate, try await runMiddleware(plainMiddleware, headers: plainHeaders, duration: seconds))
    wholeRate = max(wholeRate, try await runMiddleware(wholeMiddleware, headers: wholeHeaders, duration: seconds))
    mergeRate = max(mergeRate, try await runMiddleware(mergeMiddleware, headers: mergeHeaders, duration: seconds))
    boundRate = max(boundRate, try await runMiddleware(boundMiddleware, headers: boundHeaders, duration: seconds))
}
let mergeVersusWhole = mergeRate / wholeRate
print("")
print("| SessionMiddleware over Redis, \(concurrency) tasks | save mode | round trips/s |")
print("|---|---|---:|")
print("| open + modify + save | whole session, plain SET (no protection against late writes) | \(rate(plainRate)) |")
print("| open + modify + save | whole session (conditional save of the loaded session) | \(rate(wholeRate)) |")
print("| open + modify + save | changed keys (merge) | \(rate(mergeRate)) |")
print("| open + modify + save | whole session, bound to a user (revocable) | \(rate(boundRate)) |")
print("changed keys / whole session: \(String(format: "%.2f", mergeVersusWhole))")
let conditionalVersusPlain = wholeRate / plainRate
print("whole session, conditional / plain SET: \(String(format: "%.2f", conditionalVersusPlain))")

// The ceiling of any Lua-based conditional save on this server: redis-benchmark itself sending
// the compare-and-set script (EVALSHA, the same arguments the store sends) against `SET ... XX`
// of the same value, alternating, best of each.
let scriptValue = String(repeating: "x", count: valueSize)
_ = try await modeStore.client.send("SET", "bench-ceiling", RedisArgument(scriptValue))
// The script of RedisSessionStore's conditional saves (Sources/SessionKitRedis/Store), as sent.
let compareAndSetScript = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then
      if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
      return 1
    end
    return 0
    """
guard let scriptSHA = try await modeStore.client.send("SCRIPT", "LOAD", RedisArgument(compareAndSetScript)).string else { fail("SCRIPT LOAD gave no digest") }
var setXXRate = 0.0, scriptRate = 0.0
for _ in 0..<rounds {
    setXXRate = max(setXXRate, try runRedisBenchmarkCommand(["SET", "bench-ceiling", scriptValue, "XX", "EX", "3600"], requests: 100_000, port: port))
    scriptRate = max(scriptRate, try runRedisBenchmarkCommand(
        ["EVALSHA", scriptSHA, "1", "bench-ceiling", scriptValue, scriptValue, "3600"], requests: 100_000, port: port))
}
let scriptCeiling = scriptRate / setXXRate
print("redis-benchmark: SET XX \(rate(setXXRate))/s, compare-and-set script \(rate(scriptRate))/s: ceiling of a scripted conditional save \(String(format: "%.2f", scriptCeiling))")

let revocationVersusPlain = boundRate / wholeRate
print("bound to a user / unbound: \(String(format: "%.2f", revocationVersusPlain))")

var result = "RESULT redis ratio=\(String(format: "%.2f", ratio)) merge_vs_whole=\(String(format: "%.2f", mergeVersusWhole)) conditional_vs_plain=\(String(format: "%.2f", conditionalVersusPlain)) script_ceiling=\(String(format: "%.2f", scriptCeiling)) revocation_vs_plain=\(String(format: "%.2f", revocationVersusPlain))"
if ProcessInfo.processInfo.environment["REDIS_BENCHMARK_CLUSTER"] != "0" {
    let clusterPorts = try await startCluster()
    var clusterConfiguration = try RedisConfiguration(url: "redis+cluster://" + clusterPorts.map { "\(host):\($0)" }.joined(separator: ","))
    clusterConfiguration.commandTimeout = .seconds(10)
    if let eventLoops { clusterConfiguration.eventLoopCount = eventLoops }
    let clusterStore = try RedisSessionStore(configuration: clusterConfiguration)
    let primaries = try clusterPorts.map { try RedisClient(configuration: RedisConfiguration(address: .tcp(host: host, port: $0))) }
    for t in 0..<concurrency {
        for k in 0..<keysPerTask {
            try await clusterStore.save(key: "session:\(t):\(k)", value: sessionValue(k), ttl: 3600)
        }
    }
    print("")
    print("cluster row: 3 primaries on \(clusterPorts.map(String.init).joined(separator: ",")), same load; redis-benchmark --cluster as the reference")
    _ = try await runSessionKit(duration: min(1, seconds / 2), store: clusterStore, counted: primaries)  // warm-up
    var bestCluster: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
    var bestClusterReference: (get: ReferenceRow, set: ReferenceRow)?
    for round in 1...rounds {
        let sessionKit = try await runSessionKit(duration: seconds, store: clusterStore, counted: primaries)
        let reference = try runRedisBenchmark(requests: max(10_000, Int(sessionKit.commandsPerSecond * seconds / 2)), port: clusterPorts[0], cluster: true)
        let get = reference["GET"]!, set = reference["SET"]!
        print("cluster round \(round): SessionKit \(rate(sessionKit.commandsPerSecond)) commands/s; redis-benchmark --cluster GET \(rate(get.requestsPerSecond))/s, SET \(rate(set.requestsPerSecond))/s")
        if sessionKit.commandsPerSecond > bestCluster?.commandsPerSecond ?? 0 { bestCluster = sessionKit }
        let mean = (get.requestsPerSecond + set.requestsPerSecond) / 2
        if mean > ((bestClusterReference?.get.requestsPerSecond ?? 0) + (bestClusterReference?.set.requestsPerSecond ?? 0)) / 2 {
            bestClusterReference = (get, set)
        }
    }
    let cluster = bestCluster!
    let (clusterGet, clusterSet) = bestClusterReference!
    print("")
    print("| client (cluster, 3 primaries) | what | ops/s | Redis commands/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|")
    print("| SessionKit RedisSessionStore | load+save round trip | \(rate(cluster.perSecond)) | \(rate(cluster.commandsPerSecond)) | \(ms(percentile(cluster.latencies, 0.5))) | \(ms(percentile(cluster.latencies, 0.99))) |")
    print("| redis-benchmark --cluster | GET | \(rate(clusterGet.requestsPerSecond)) | \(rate(clusterGet.requestsPerSecond)) | \(String(format: "%.3f", clusterGet.p50)) | \(String(format: "%.3f", clusterGet.p99)) |")
    print("| redis-benchmark --cluster | SET | \(rate(clusterSet.requestsPerSecond)) | \(rate(clusterSet.requestsPerSecond)) | \(String(format: "%.3f", clusterSet.p50)) | \(String(format: "%.3f", clusterSet.p99)) |")
    print("SessionKit client statistics: \(clusterStore.client.statistics)")
    let clusterRatio = cluster.commandsPerSecond / ((clusterGet.requestsPerSecond + clusterSet.requestsPerSecond) / 2)
    clusterStore.client.close()
    for client in primaries { client.close() }
    result += " cluster_ratio=\(String(format: "%.2f", clusterRatio))"
}

// MARK: The TLS row

/// Runs `executable` with `arguments`, failing the benchmark if it fails.
func run(_ executable: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { fail("\(executable) \(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)") }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl command line.
func makeCertificates() throws -> (directory: String, ca: String, certificate: String, key: String) {
    guard let openssl = which("openssl") else { fail("the openssl command line is not installed (apt-get install -y openssl)") }
    let directory = NSTemporaryDirectory() + "sessionkit-redis-benchmark-tls-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
    try run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/ca.key", "-out", directory + "/ca.pem",
                      "-days", "2", "-subj", "/CN=SessionKit benchmark CA"])
    try run(openssl, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/server.key", "-out", directory + "/server.csr",
                      "-subj", "/CN=127.0.0.1"])
    try run(openssl, ["x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca.key",
                      "-CAcreateserial", "-out", directory + "/server.pem", "-days", "2", "-extfile", directory + "/server.ext"])
    return (directory, directory + "/ca.pem", directory + "/server.pem", directory + "/server.key")
}

if ProcessInfo.processInfo.environment["REDIS_BENCHMARK_TLS"] != "0" {
    let certificates = try makeCertificates()
    let plainPort = freePort()
    let tlsPort = freePort()
    try startServer(["--port", "\(plainPort)", "--tls-port", "\(tlsPort)", "--bind", host, "--save", "", "--appendonly", "no",
                     "--protected-mode", "no", "--daemonize", "no", "--dir", certificates.directory,
                     "--tls-cert-file", certificates.certificate, "--tls-key-file", certificates.key,
                     "--tls-ca-cert-file", certificates.ca, "--tls-auth-clients", "no"])
    var plainConfiguration = RedisConfiguration(address: .tcp(host: host, port: plainPort))
    plainConfiguration.commandTimeout = .seconds(10)
    if let eventLoops { plainConfiguration.eventLoopCount = eventLoops }
    var tlsConfiguration = plainConfiguration
    tlsConfiguration.address = .tcp(host: host, port: tlsPort)
    tlsConfiguration.tls = TLSConfiguration(trustRoots: .file(certificates.ca))
    let plainStore = try RedisSessionStore(configuration: plainConfiguration)
    let tlsStore = try RedisSessionStore(configuration: tlsConfiguration)
    let startedBy = now() + 10
    while (try? await tlsStore.client.send("PING")) == nil {
        if now() > startedBy { fail("redis-server with a TLS port did not answer over TLS within 10 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
    for t in 0..<concurrency {
        for k in 0..<keysPerTask {
            try await tlsStore.save(key: "session:\(t):\(k)", value: sessionValue(k), ttl: 3600)
        }
    }
    print("")
    print("TLS row: redis-server with TLS port \(tlsPort) (plaintext port \(plainPort)), same load; redis-benchmark --tls as the reference")
    _ = try await runSessionKit(duration: min(1, seconds / 2), store: tlsStore, counted: [plainStore.client])  // warm-up
    var bestTLS: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
    var bestPlain: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
    var bestTLSReference: (get: ReferenceRow, set: ReferenceRow)?
    for round in 1...rounds {
        let overTLS = try await runSessionKit(duration: seconds, store: tlsStore, counted: [plainStore.client])
        let reference = try runRedisBenchmark(requests: max(10_000, Int(overTLS.commandsPerSecond * seconds / 2)), port: tlsPort,
                                              extraArguments: ["--tls", "--cacert", certificates.ca])
        let plain = try await runSessionKit(duration: seconds, store: plainStore, counted: [plainStore.client])
        let get = reference["GET"]!, set = reference["SET"]!
        print("TLS round \(round): SessionKit over TLS \(rate(overTLS.commandsPerSecond)) commands/s; redis-benchmark --tls GET \(rate(get.requestsPerSecond))/s, SET \(rate(set.requestsPerSecond))/s; SessionKit plaintext \(rate(plain.commandsPerSecond)) commands/s")
        if overTLS.commandsPerSecond > bestTLS?.commandsPerSecond ?? 0 { bestTLS = overTLS }
        if plain.commandsPerSecond > bestPlain?.commandsPerSecond ?? 0 { bestPlain = plain }
        let mean = (get.requestsPerSecond + set.requestsPerSecond) / 2
        if mean > ((bestTLSReference?.get.requestsPerSecond ?? 0) + (bestTLSReference?.set.requestsPerSecond ?? 0)) / 2 {
            bestTLSReference = (get, set)
        }
    }
    let overTLS = bestTLS!, plain = bestPlain!
    let (tlsGet, tlsSet) = bestTLSReference!
    print("")
    print("| client (TLS) | what | ops/s | Redis commands/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|")
    print("| SessionKit RedisSessionStore over TLS | load+save round trip | \(rate(overTLS.perSecond)) | \(rate(overTLS.commandsPerSecond)) | \(ms(percentile(overTLS.latencies, 0.5))) | \(ms(percentile(overTLS.latencies, 0.99))) |")
    print("| SessionKit RedisSessionStore, plaintext port | load+save round trip | \(rate(plain.perSecond)) | \(rate(plain.commandsPerSecond)) | \(ms(percentile(plain.latencies, 0.5))) | \(ms(percentile(plain.latencies, 0.99))) |")
    print("| redis-benchmark --tls | GET | \(rate(tlsGet.requestsPerSecond)) | \(rate(tlsGet.requestsPerSecond)) | \(String(format: "%.3f", tlsGet.p50)) | \(String(format: "%.3f", tlsGet.p99)) |")
    print("| redis-benchmark --tls | SET | \(rate(tlsSet.requestsPerSecond)) | \(rate(tlsSet.requestsPerSecond)) | \(String(format: "%.3f", tlsSet.p50)) | \(String(format: "%.3f", tlsSet.p99)) |")
    let tlsRatio = overTLS.commandsPerSecond / ((tlsGet.requestsPerSecond + tlsSet.requestsPerSecond) / 2)
    let tlsVersusPlain = overTLS.commandsPerSecond / plain.commandsPerSecond
    tlsStore.client.close()
    plainStore.client.close()
    result += " tls_ratio=\(String(format: "%.2f", tlsRatio)) tls_vs_plain=\(String(format: "%.2f", tlsVersusPlain))"
}
print(result)
