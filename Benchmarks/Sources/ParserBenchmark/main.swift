// The `parsers` suite: the RESP and memcached reply parsers on the replies a session store
// reads most, in nanoseconds per reply. It has no peer in the same run: run it against two
// builds of SessionKit (two checkouts, alternating) to compare parser changes, since the
// parsers sit on the clients' hot path, on the one I/O thread.
//
//   swift run -c release --package-path Benchmarks ParserBenchmark [replies-per-round] [rounds] [case-prefix]
//
// Each case feeds its bytes the way the event loop does (one append per read, then next()
// until nil) and keeps the best round. Rounds are timed in the thread's CPU time, not wall
// time, so that other work on a shared machine inflates them less:
// - resp_ok, resp_int, resp_get1k: `+OK`, `:1`, a 1 KiB bulk string, one reply per read;
// - resp_pipeline: 64 replies per read (alternating a 1 KiB bulk string and `+OK`);
// - resp_array: `*3` of a bulk string, an integer and `+OK` (a small aggregate);
// - mc_stored, mc_get1k: `STORED` and a 1 KiB `VALUE ... END` reply, one per read;
// - mc_pipeline: 64 replies per read (alternating a 1 KiB get reply and `STORED`).
// The last line is `RESULT parsers resp_ok_ns=... resp_int_ns=... resp_get1k_ns=...
// resp_pipeline_ns=... resp_array_ns=... mc_stored_ns=... mc_get1k_ns=... mc_pipeline_ns=...`.

import Foundation
import SessionKitMemcached
import SessionKitRedis

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
let repliesPerRound = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
let rounds = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 5) : 5
let only = arguments.count > 3 ? arguments[3] : ""

/// The calling thread's CPU time, in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Keeps results alive so the optimizer cannot drop the parsing.
nonisolated(unsafe) var sink = 0

let value = [UInt8]((0..<1024).map { UInt8(97 + $0 % 26) })
let respOK = Array("+OK\r\n".utf8)
let respInt = Array(":1\r\n".utf8)
let respGet = Array("$1024\r\n".utf8) + value + [13, 10]
let respArray = Array("*3\r\n$5\r\nhello\r\n:42\r\n+OK\r\n".utf8)
let respPipeline = (0..<32).flatMap { _ in respGet + respOK }
let mcStored = Array("STORED\r\n".utf8)
let mcGet = Array("VALUE session:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG 0 1024\r\n".utf8) + value + Array("\r\nEND\r\n".utf8)
let mcPipeline = (0..<32).flatMap { _ in mcGet + mcStored }

/// Best nanoseconds per reply over the rounds; `read` holds `perRead` replies.
func measure(_ name: String, _ read: [UInt8], perRead: Int, _ feed: ([UInt8], Int) -> Int) -> Double? {
    guard name.hasPrefix(only) else { return nil }
    let reads = max(1, repliesPerRound / perRead)
    _ = feed(read, reads / 10 + 1)  // warm-up
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = now()
        let parsed = feed(read, reads)
        let elapsed = now() - start
        precondition(parsed == reads * perRead, "\(name): parsed \(parsed) of \(reads * perRead) replies")
        best = min(best, elapsed / Double(reads * perRead) * 1e9)
    }
    print(String(format: "%-14@ %8.1f ns per reply", name as NSString, best))
    return best
}

func resp(_ read: [UInt8], _ reads: Int) -> Int {
    var parser = RESPParser()
    var parsed = 0
    read.withUnsafeBytes { bytes in
        for _ in 0..<reads {
            parser.append(bytes)
            while let reply = try! parser.next() {
                if case .bulkString(let payload) = reply { sink &+= payload.count }
                parsed += 1
            }
        }
    }
    return parsed
}

func memcached(_ read: [UInt8], _ reads: Int) -> Int {
    var parser = MemcachedParser()
    var parsed = 0
    read.withUnsafeBytes { bytes in
        for _ in 0..<reads {
            parser.append(bytes)
            while let reply = try! parser.next() {
                if case .values(let items) = reply { sink &+= items.count }
                parsed += 1
            }
        }
    }
    return parsed
}

print("parsers: \(repliesPerRound) replies per round, best of \(rounds) rounds")
let results: [(String, Double?)] = [
    ("resp_ok", measure("resp_ok", respOK, perRead: 1, resp)),
    ("resp_int", measure("resp_int", respInt, perRead: 1, resp)),
    ("resp_get1k", measure("resp_get1k", respGet, perRead: 1, resp)),
    ("resp_pipeline", measure("resp_pipeline", respPipeline, perRead: 64, resp)),
    ("resp_array", measure("resp_array", respArray, perRead: 1, resp)),
    ("mc_stored", measure("mc_stored", mcStored, perRead: 1, memcached)),
    ("mc_get1k", measure("mc_get1k", mcGet, perRead: 1, memcached)),
    ("mc_pipeline", measure("mc_pipeline", mcPipeline, perRead: 64, memcached)),
]
print("(checksum \(sink))")
print("RESULT parsers " + results.compactMap { name, ns in ns.map { String(format: "%@_ns=%.1f", name as NSString, $0) } }.joined(separator: " "))
