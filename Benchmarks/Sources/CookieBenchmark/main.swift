// The `cookie` suite: signed-cookie encode and decode of the same 5-key session (about 250
// bytes of JSON) with the same secret, SessionKit against pyramid (webob's SignedSerializer,
// the serializer SignedCookieSessionFactory uses), in one run.
//
//   swift run -c release --package-path Benchmarks CookieBenchmark [iterations] [rounds]
//
// pyramid runs in a Python subprocess: $SESSIONKIT_PYTHON, or the repository's .venv (see
// Tests/Interop/requirements.txt), timing the same number of iterations.

import Foundation
import SessionKit

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let secret = String(repeating: "s3cr3t-", count: 10)
let accessed = 1_795_300_000
let created = 1_795_299_123.456789
let state: SessionValue = [
    "user_id": 123_456,
    "user_name": "Ada Lovelace",
    "roles": ["admin", "editor", "reviewer"],
    "cart": [["sku": "BK-1843-AE", "qty": 1, "price": 19.99], ["sku": "PN-0042", "qty": 3, "price": 2.5]],
    "_csrft_": "0f6c1e9a2b4d8c7e5f3a1b0c9d8e7f6a5b4c3d2e",
]

let serializer = try SignedSessionSerializer(secrets: [secret])
let payload: SessionValue = .array([.int(accessed), .double(created), state])
let json = try JSONSessionSerializer().serialize(state)

func now() -> Double { Date().timeIntervalSince1970 }

// SessionKit: encode = serialize and sign; decode = verify and parse.
func measureOurs() throws -> (encode: Double, decode: Double, cookie: [UInt8]) {
    var cookie: [UInt8] = []
    var start = now()
    for _ in 0..<iterations { cookie = try serializer.serialize(payload) }
    let encode = Double(iterations) / (now() - start)
    var checksum = 0
    start = now()
    for _ in 0..<iterations {
        if case .array(let parts) = try serializer.deserialize(cookie) { checksum &+= parts.count }
    }
    let decode = Double(iterations) / (now() - start)
    precondition(checksum == 3 * iterations)
    return (encode, decode, cookie)
}

// Profiling mode: SK_BENCH_OPS=<n> runs only SessionKit's side, n encodes then n decodes
// (SK_BENCH_PART=encode or decode for one of them), and prints no timings, so that
// instruction counts (valgrind --tool=callgrind) can be compared between builds.
if let ops = ProcessInfo.processInfo.environment["SK_BENCH_OPS"].flatMap({ Int($0) }) {
    let part = ProcessInfo.processInfo.environment["SK_BENCH_PART"] ?? "both"
    var cookie = try serializer.serialize(payload)
    var checksum = 0
    if part != "decode" {
        for _ in 0..<ops {
            cookie = try serializer.serialize(payload)
            checksum &+= cookie.count
        }
    }
    if part != "encode" {
        for _ in 0..<ops {
            if case .array(let parts) = try serializer.deserialize(cookie) { checksum &+= parts.count }
        }
    }
    print("PROFILE cookie ops=\(ops) part=\(part) cookie_bytes=\(cookie.count) checksum=\(checksum)")
    exit(0)
}

// pyramid, same payload.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let python = ProcessInfo.processInfo.environment["SESSIONKIT_PYTHON"] ?? root.deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
func measurePyramid() throws -> (encode: Double, decode: Double, cookie: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
        root.appendingPathComponent("Scripts/cookie_pyramid.py").path, String(iterations), secret,
        String(decoding: json, as: UTF8.self), String(accessed), String(created),
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let result = try JSONSerialization.jsonObject(with: output) as? [String: Any],
        let encode = result["encode_per_s"] as? Double, let decode = result["decode_per_s"] as? Double,
        let cookie = result["cookie"] as? String
    else {
        print("pyramid benchmark failed (python: \(python)); install Tests/Interop/requirements.txt into .venv or set SESSIONKIT_PYTHON")
        exit(1)
    }
    return (encode, decode, cookie)
}

// Rounds alternate between the two sides; each keeps its best, so load from other processes
// on a shared machine does not favour either.
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3
var oursEncode = 0.0, oursDecode = 0.0, theirsEncode = 0.0, theirsDecode = 0.0
var theirCookie = ""
var cookie: [UInt8] = []
for _ in 0..<rounds {
    let ours = try measureOurs()
    cookie = ours.cookie
    oursEncode = max(oursEncode, ours.encode)
    oursDecode = max(oursDecode, ours.decode)
    let theirs = try measurePyramid()
    theirsEncode = max(theirsEncode, theirs.encode)
    theirsDecode = max(theirsDecode, theirs.decode)
    theirCookie = theirs.cookie
}
let same = theirCookie == String(decoding: cookie, as: UTF8.self)

print("signed cookie (HMAC-SHA512), 5-key session, \(json.count) bytes of JSON, cookie \(cookie.count) bytes, \(iterations) iterations, best of \(rounds) alternating rounds")
print("identical cookie bytes from both: \(same)")
print("operation | SessionKit /s | pyramid /s | ratio")
print(String(format: "encode    | %13.0f | %10.0f | %5.2f", oursEncode, theirsEncode, oursEncode / theirsEncode))
print(String(format: "decode    | %13.0f | %10.0f | %5.2f", oursDecode, theirsDecode, oursDecode / theirsDecode))
print(String(format: "RESULT cookie encode_ratio=%.2f decode_ratio=%.2f", oursEncode / theirsEncode, oursDecode / theirsDecode))
