// The `memcached` suite: session load+save round trips through MemcachedSessionStore with 50
// concurrent tasks against one memcached, side by side in the same run with
// `memcslap --concurrency=50` (libmemcached-tools) get and set on the same server.
//
//   swift run -c release --package-path Benchmarks MemcachedBenchmark [seconds] [value-bytes] [rounds]
//
// It starts its own memcached on a free port (or uses MEMCACHED_BENCHMARK_PORT when set).
// Commands are counted on both sides: SessionKit's commands/s (counted by the server, `stats`
// cmd_get + cmd_set; a load+save is two) over the mean of memcslap's get and set rates. The two
// sides alternate for a few rounds and each side's best round counts.
//
// The TLS row starts a second memcached with `-Z` and certificates made with the openssl
// command line, and compares MemcachedSessionStore over TLS (SessionKitTLS) with the plaintext
// store above, rounds alternated, in load+save round trips/s counted by the client. Set
// MEMCACHED_BENCHMARK_TLS=0 to skip it.
//
// The last line is `RESULT memcached ratio=<ratio> tls_vs_plain=<ratio>` (without
// `tls_vs_plain` when the TLS row is skipped).

import Dispatch
import Foundation
import SessionKitMemcached
import SessionKitTLS

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
let seconds = arguments.count > 1 ? Double(arguments[1]) ?? 3 : 3
let valueSize = arguments.count > 2 ? Int(arguments[2]) ?? 300 : 300
let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
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

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("MemcachedBenchmark: \(message)\n".utf8))
    exit(1)
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

// MARK: The server

let host = "127.0.0.1"
var serverProcess: Process?
let port: Int
if let fixed = ProcessInfo.processInfo.environment["MEMCACHED_BENCHMARK_PORT"].flatMap(Int.init) {
    port = fixed
} else {
    guard let memcached = which("memcached") else { fail("memcached is not installed (apt-get install -y memcached)") }
    port = freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: memcached)
    process.arguments = ["-U", "0", "-l", host, "-p", "\(port)", "-m", "256", "-c", "4096", "-t", "4"] + (geteuid() == 0 ? ["-u", "root"] : [])
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    serverProcess = process
}
defer { if let serverProcess { kill(serverProcess.processIdentifier, SIGKILL) } }
guard let memcslap = which("memcslap") ?? which("memslap") else { fail("memcslap is not installed (apt-get install -y libmemcached-tools)") }

var configuration = MemcachedConfiguration(servers: [.tcp(host: host, port: port)])
configuration.commandTimeout = .seconds(10)
// BENCHMARK_EVENT_LOOPS=N spreads the client's connections over N event loops (default: the
// configuration's default), to compare 1 and 2 loops side by side.
if let eventLoops = ProcessInfo.processInfo.environment["BENCHMARK_EVENT_LOOPS"].flatMap(Int.init) {
    configuration.eventLoopCount = eventLoops
}
let store = try MemcachedSessionStore(configuration: configuration)

let readyBy = now() + 10
while true {
    if (try? await store.client.version()) != nil { break }
    if now() > readyBy { fail("memcached on port \(port) did not answer within 10 s") }
    try await Task.sleep(for: .milliseconds(20))
}

/// The server's command counters (`stats`), read on a plain blocking socket off Swift's pool.
func commandsProcessed() async -> Int {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            _ = "stats\r\n".withCString { send(fd, $0, 7, Int32(MSG_NOSIGNAL)) }
            var text = ""
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !text.hasSuffix("END\r\n") {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                text += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            var total = 0
            for line in text.split(separator: "\r\n") {
                let parts = line.split(separator: " ")
                if parts.count == 3, ["cmd_get", "cmd_set", "cmd_touch"].contains(String(parts[1])) { total += Int(parts[2]) ?? 0 }
            }
            continuation.resume(returning: total)
        }
    }
}

/// A session-like JSON object of exactly `valueSize` bytes.
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

/// Load+save round trips through `store` (default: the plaintext store) for `duration`
/// seconds; with `counted`, the server's command counters give commands/s.
func runSessionKit(duration: Double, store: MemcachedSessionStore = store, counted: Bool = true) async throws -> (perSecond: Double, latencies: [Double], commandsPerSecond: Double) {
    let commandsBefore = counted ? await commandsProcessed() : 0
    let start = now()
    let deadline = start + duration
    let runs = try await withThrowingTaskGroup(of: Run.self) { group in
        for t in 0..<concurrency {
            group.addTask {
                var run = Run()
                run.latencies.reserveCapacity(200_000)
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
    let commands = counted ? await commandsProcessed() - commandsBefore : 2 * runs.reduce(0) { $0 + $1.roundTrips }
    let total = runs.reduce(0) { $0 + $1.roundTrips }
    return (Double(total) / elapsed, runs.flatMap(\.latencies).sorted(), Double(commands) / elapsed)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

// MARK: memcslap

/// Runs `memcslap --test=<test> --concurrency=50 --execute-number=<n>` and returns its
/// operations per second, from its "Time to <test> N keys by 50 threads: S seconds" line.
func runMemcslap(test: String, perThread: Int) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: memcslap)
    process.arguments = ["--servers=\(host):\(port)", "--concurrency=\(concurrency)", "--test=\(test)", "--execute-number=\(perThread)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    for line in output.split(separator: "\n") where line.hasPrefix("Time to \(test) ") {
        let words = line.split(separator: " ")
        // Time to get 100000 keys by 50 threads: 2.222 seconds.
        guard words.count >= 9, let keys = Double(words[3]), let secondsTaken = Double(words[words.count - 2]), secondsTaken > 0 else { continue }
        return keys / secondsTaken
    }
    fail("could not read memcslap's output:\n\(output)")
}

print("memcached suite: \(configuration.eventLoopCount) event loop(s), \(concurrency) concurrent tasks, \(valueSize)-byte values, \(seconds) s per run, \(rounds) alternating rounds, memcached on \(host):\(port)")
_ = try await runSessionKit(duration: min(1, seconds / 2))  // warm-up

func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1000) }
func rate(_ value: Double) -> String { String(format: "%.0f", value) }

var bestSessionKit: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
var bestReference: (get: Double, set: Double)?
for round in 1...rounds {
    let sessionKit = try await runSessionKit(duration: seconds)
    // Size memcslap's runs to take about as long as SessionKit's.
    let perThread = max(500, Int(sessionKit.commandsPerSecond * seconds / 2 / Double(concurrency)))
    let set = try runMemcslap(test: "set", perThread: perThread)
    let get = try runMemcslap(test: "get", perThread: perThread)
    print("round \(round): SessionKit \(rate(sessionKit.commandsPerSecond)) commands/s; memcslap get \(rate(get))/s, set \(rate(set))/s")
    if sessionKit.commandsPerSecond > bestSessionKit?.commandsPerSecond ?? 0 { bestSessionKit = sessionKit }
    if (get + set) / 2 > ((bestReference?.get ?? 0) + (bestReference?.set ?? 0)) / 2 { bestReference = (get, set) }
}
let sessionKit = bestSessionKit!
let (get, set) = bestReference!
let referenceMean = (get + set) / 2

print("")
print("Best round of each side:")
print("")
print("| client | what | ops/s | memcached commands/s | p50 ms | p99 ms |")
print("|---|---|---:|---:|---:|---:|")
print("| SessionKit MemcachedSessionStore | load+save round trip | \(rate(sessionKit.perSecond)) | \(rate(sessionKit.commandsPerSecond)) | \(ms(percentile(sessionKit.latencies, 0.5))) | \(ms(percentile(sessionKit.latencies, 0.99))) |")
print("| memcslap --concurrency=\(concurrency) (C, libmemcached) | get | \(rate(get)) | \(rate(get)) | | |")
print("| memcslap --concurrency=\(concurrency) (C, libmemcached) | set | \(rate(set)) | \(rate(set)) | | |")
print("")
print("SessionKit latency is per load+save round trip (two commands). SessionKit commands/s are counted by the server (stats cmd_get + cmd_set); 2 x round trips/s: \(rate(sessionKit.perSecond * 2)).")
let ratio = sessionKit.commandsPerSecond / referenceMean
var result = "RESULT memcached ratio=\(String(format: "%.2f", ratio))"

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

var tlsServer: Process?
defer { if let tlsServer { kill(tlsServer.processIdentifier, SIGKILL) } }
if ProcessInfo.processInfo.environment["MEMCACHED_BENCHMARK_TLS"] != "0" {
    guard let openssl = which("openssl") else { fail("the openssl command line is not installed (apt-get install -y openssl)") }
    guard let memcached = which("memcached") else { fail("memcached is not installed (apt-get install -y memcached)") }
    let directory = NSTemporaryDirectory() + "sessionkit-memcached-benchmark-tls-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
    try run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/ca.key", "-out", directory + "/ca.pem",
                      "-days", "2", "-subj", "/CN=SessionKit benchmark CA"])
    try run(openssl, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/server.key", "-out", directory + "/server.csr",
                      "-subj", "/CN=127.0.0.1"])
    try run(openssl, ["x509", "-req", "-in", directory + "/server.csr", "-CA", directory + "/ca.pem", "-CAkey", directory + "/ca.key",
                      "-CAcreateserial", "-out", directory + "/server.pem", "-days", "2", "-extfile", directory + "/server.ext"])
    let tlsPort = freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: memcached)
    process.arguments = ["-U", "0", "-l", host, "-p", "\(tlsPort)", "-m", "256", "-c", "4096", "-t", "4", "-Z",
                         "-o", "ssl_chain_cert=\(directory)/server.pem,ssl_key=\(directory)/server.key"] + (geteuid() == 0 ? ["-u", "root"] : [])
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    tlsServer = process
    var tlsConfiguration = configuration
    tlsConfiguration.servers = [.tcp(host: host, port: tlsPort)]
    tlsConfiguration.tls = TLSConfiguration(trustRoots: .file(directory + "/ca.pem"))
    let tlsStore = try MemcachedSessionStore(configuration: tlsConfiguration)
    let startedBy = now() + 10
    while (try? await tlsStore.client.version()) == nil {
        if now() > startedBy { fail("memcached -Z on port \(tlsPort) did not answer over TLS within 10 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
    for t in 0..<concurrency {
        for k in 0..<keysPerTask {
            try await tlsStore.save(key: "session:\(t):\(k)", value: sessionValue(k), ttl: 3600)
        }
    }
    print("")
    print("TLS row: memcached -Z on port \(tlsPort), same load, against the plaintext store above (round trips/s counted by the client)")
    _ = try await runSessionKit(duration: min(1, seconds / 2), store: tlsStore, counted: false)  // warm-up
    var bestTLS: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
    var bestPlain: (perSecond: Double, latencies: [Double], commandsPerSecond: Double)?
    for round in 1...rounds {
        let overTLS = try await runSessionKit(duration: seconds, store: tlsStore, counted: false)
        let plain = try await runSessionKit(duration: seconds, counted: false)
        print("TLS round \(round): SessionKit over TLS \(rate(overTLS.perSecond)) round trips/s; plaintext \(rate(plain.perSecond)) round trips/s")
        if overTLS.perSecond > bestTLS?.perSecond ?? 0 { bestTLS = overTLS }
        if plain.perSecond > bestPlain?.perSecond ?? 0 { bestPlain = plain }
    }
    let overTLS = bestTLS!, plain = bestPlain!
    print("")
    print("| client | what | ops/s | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|")
    print("| SessionKit MemcachedSessionStore over TLS | load+save round trip | \(rate(overTLS.perSecond)) | \(ms(percentile(overTLS.latencies, 0.5))) | \(ms(percentile(overTLS.latencies, 0.99))) |")
    print("| SessionKit MemcachedSessionStore, plaintext | load+save round trip | \(rate(plain.perSecond)) | \(ms(percentile(plain.latencies, 0.5))) | \(ms(percentile(plain.latencies, 0.99))) |")
    tlsStore.client.close()
    result += " tls_vs_plain=\(String(format: "%.2f", overTLS.perSecond / plain.perSecond))"
}
store.client.close()
print(result)
