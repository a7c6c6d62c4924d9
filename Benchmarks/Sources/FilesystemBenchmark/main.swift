// The `filesystem` suite: FilesystemSessionStore load+save throughput, side by side with
// Werkzeug secure_cookie's FilesystemSessionStore (get+save) and with a plain
// write+fsync+rename loop, the disk's limit for durable writes. All on the same disk.
//
//   swift run -c release --package-path Benchmarks FilesystemBenchmark [seconds-per-run]
//
// secure_cookie runs in the benchmarks' Python environment ($SESSIONKIT_PYTHON, or the
// repository's .venv), set up once for every benchmark peer:
//   python3 -m venv .venv && .venv/bin/pip install -r Benchmarks/requirements.txt
//
// The last line is
//   RESULT filesystem ratio=<ours fast / secure_cookie> durable_vs_disk=<ours durable / plain loop>
// where `ratio` compares one task with one Python thread, and `durable_vs_disk` compares
// ours durable with the write+fsync+rename loop at 16 concurrent writers. Both ratios at
// both concurrencies are printed above it, and so is a write+fsync+exchange loop, which
// reuses inodes as the store does and is the tighter limit on this kind of disk.

import Foundation
import SessionKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

let secondsPerRun = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 3 : 3
let sessions = 1000

@Sendable func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A session of about 200 bytes, as the Python side stores (user, visits, theme, CSRF token, cart).
func sessionValue(user: Int, visits: Int) -> [UInt8] {
    Array(
        "{\"_created\":1700000000,\"user\":\"user\(user)\",\"visits\":\(visits),\"theme\":\"dark\",\"csrf\":\"\(String(repeating: "q", count: 43))\",\"cart\":[1,2,3],\"flash\":[],\"lang\":\"en-GB\",\"tz\":\"Europe/London\"}"
            .utf8)
}

/// Runs `tasks` concurrent loops for `secondsPerRun` and returns operations per second.
func measure(tasks: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let deadline = now() + secondsPerRun
    let start = now()
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for t in 0..<tasks {
            group.addTask {
                var done = 0
                var i = t
                while now() < deadline {
                    for _ in 0..<8 {
                        try await body(i)
                        i &+= tasks
                        done += 1
                    }
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / (now() - start)
}

typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
let renameat2: RenameAt2? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
    return unsafeBitCast(symbol, to: RenameAt2.self)
}()

/// The disk's limit as the issue defines it: `threads` threads each writing 200 bytes to a
/// new file, fsync, rename over a final name, in a loop; no directory fsync. With
/// `exchange`, each thread instead rewrites its one spare file and swaps it with the final
/// name (`renameat2(RENAME_EXCHANGE)`), reusing inodes as the store does. Returns writes/s.
func plainLoop(directory: String, threads: Int, exchange: Bool = false) -> Double {
    let payload = sessionValue(user: 1, visits: 1)
    for i in 0..<sessions where exchange {
        let fd = open("\(directory)/plain-\(i)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        close(fd)
    }
    let deadline = now() + secondsPerRun
    let total = Mutex(0)
    let group = DispatchGroup()
    let start = now()
    for t in 0..<threads {
        group.enter()
        let thread = Thread {
            var done = 0
            var i = t
            while now() < deadline {
                let temporary = "\(directory)/.tmp-\(t)"
                let final = "\(directory)/plain-\(i % sessions)"
                let fd = open(temporary, exchange ? O_WRONLY | O_CREAT | O_CLOEXEC : O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                precondition(fd >= 0, "open \(temporary): errno \(errno)")
                payload.withUnsafeBytes { precondition(pwrite(fd, $0.baseAddress, $0.count, 0) == $0.count) }
                precondition(fsync(fd) == 0)
                close(fd)
                if exchange {
                    precondition(renameat2!(AT_FDCWD, temporary, AT_FDCWD, final, 2) == 0, "renameat2: errno \(errno)")
                } else {
                    precondition(rename(temporary, final) == 0)
                }
                done += 1
                i += threads
            }
            total.withLock { $0 += done }
            group.leave()
        }
        thread.start()
    }
    group.wait()
    return Double(total.withLock { $0 }) / (now() - start)
}

/// Runs the secure_cookie script and returns its get+save operations per second.
func secureCookie(directory: String, threads: Int) throws -> Double {
    var scripts = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { scripts.deleteLastPathComponent() }
    let python =
        ProcessInfo.processInfo.environment["SESSIONKIT_PYTHON"]
        ?? scripts.deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw BenchmarkError("no Python at \(python): run python3 -m venv .venv && .venv/bin/pip install -r Benchmarks/requirements.txt, or set SESSIONKIT_PYTHON")
    }
    let script = scripts.appendingPathComponent("Scripts/filesystem_secure_cookie.py").path
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, directory, String(secondsPerRun), String(threads)]
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let line = output.split(separator: "\n").first(where: { $0.hasPrefix("ops_per_second=") }),
        let rate = Double(line.dropFirst("ops_per_second=".count))
    else {
        throw BenchmarkError("the secure_cookie script failed (status \(process.terminationStatus)): \(output); install the peers with .venv/bin/pip install -r Benchmarks/requirements.txt (python: \(python))")
    }
    return rate
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: Run

let base = FileManager.default.temporaryDirectory.appendingPathComponent("skfs-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
defer { try? FileManager.default.removeItem(atPath: base) }
print("SessionKit filesystem store vs secure_cookie vs write+fsync+rename, \(sessions) sessions of ~200 bytes, \(secondsPerRun) s per run, in \(base)")

let ids = try (0..<sessions).map { _ in "session:" + (try SessionID.generate()) }
let modes: [(String, FilesystemSessionStore.Durability)] = [("durable", .durable), ("fast", .fast), ("synchronous", .synchronous)]
var ours: [String: Double] = [:]
for (name, durability) in modes {
    let store = try FilesystemSessionStore(directory: base + "/ours-" + name, durability: durability)
    for (u, key) in ids.enumerated() { try await store.save(key: key, value: sessionValue(user: u, visits: 0), ttl: 3600) }
    for tasks in [1, 16] {
        ours["\(name)/\(tasks)"] = try await measure(tasks: tasks) { i in
            let u = i % sessions
            guard try await store.load(key: ids[u]) != nil else { throw BenchmarkError("session \(u) vanished") }
            try await store.save(key: ids[u], value: sessionValue(user: u, visits: i), ttl: 3600)
        }
    }
}

var plain: [Int: Double] = [:]
var swapped: [Int: Double] = [:]
try FileManager.default.createDirectory(atPath: base + "/plain", withIntermediateDirectories: false)
try FileManager.default.createDirectory(atPath: base + "/exchange", withIntermediateDirectories: false)
for threads in [1, 16] {
    plain[threads] = plainLoop(directory: base + "/plain", threads: threads)
    if renameat2 != nil { swapped[threads] = plainLoop(directory: base + "/exchange", threads: threads, exchange: true) }
}

var python: [Int: Double] = [:]
for threads in [1, 16] {
    let directory = base + "/secure_cookie-\(threads)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    do {
        python[threads] = try secureCookie(directory: directory, threads: threads)
    } catch {
        print("FilesystemBenchmark: \(error)")
        exit(1)
    }
}

func cell(_ value: Double?, _ width: Int) -> String {
    let text = value.map { String(format: "%.0f", $0) } ?? "-"
    return text.padding(toLength: width, withPad: " ", startingAt: 0)
}

print("")
print("tasks | ours durable | ours fast | ours synchronous | secure_cookie | write+fsync+rename | write+fsync+exchange")
for n in [1, 16] {
    print(
        "\(cell(Double(n), 5)) | \(cell(ours["durable/\(n)"], 12)) | \(cell(ours["fast/\(n)"], 9)) | \(cell(ours["synchronous/\(n)"], 16)) | \(cell(python[n], 13)) | \(cell(plain[n], 18)) | \(cell(swapped[n], 20))"
    )
}
print("(ops/s. Ours: one op = load + save of one session. secure_cookie: get + save, 16 = 16 Python threads under the GIL.")
print(" Loops: one op = one 200-byte write, fsync, rename (or exchange with the final name); no reads.)")
let ratio = ours["fast/1"]! / python[1]!
let durableVsDisk = ours["durable/16"]! / plain[16]!
print(String(format: "fast / secure_cookie: %.2f at 1 task, %.2f at 16", ratio, ours["fast/16"]! / python[16]!))
print(String(format: "durable / write+fsync+rename: %.2f at 1 task, %.2f at 16", ours["durable/1"]! / plain[1]!, durableVsDisk))
if let one = swapped[1], let sixteen = swapped[16] {
    print(String(format: "durable / write+fsync+exchange: %.2f at 1 task, %.2f at 16", ours["durable/1"]! / one, ours["durable/16"]! / sixteen))
}
print("RESULT filesystem ratio=\(String(format: "%.2f", ratio)) durable_vs_disk=\(String(format: "%.2f", durableVsDisk))")
