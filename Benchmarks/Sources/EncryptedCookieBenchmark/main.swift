// The `encrypted` suite: encrypted-cookie encode and decode of the cookie benchmark's 5-key
// session (CookieBenchmark's payload), SessionKit's PASETO v4.local against pyseto's v4.local
// and against Fernet + json (cryptography), the work aiohttp-session's EncryptedCookieStorage
// does per request, in one run; and SessionKit's encrypted cookie against its signed cookie.
//
//   swift run -c release --package-path Benchmarks EncryptedCookieBenchmark [iterations] [rounds]
//
// Encode: the session to the cookie value (JSON, a fresh random nonce, encryption, tag,
// base64url). Decode: the cookie value to the session's values (header and tag checks,
// decryption, JSON parsing). The peers run in a Python subprocess
// (Scripts/encrypted_cookie_peers.py): $SESSIONKIT_PYTHON, or the repository's .venv (see
// Benchmarks/requirements.txt), timing the same number of iterations.

import Foundation
import SessionKit

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3
let key: [UInt8] = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
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
let payload: SessionValue = .array([.int(accessed), .double(created), state])

let encrypted = try EncryptedCookieSessionInterface(keys: [key]).base.serializer
let signed = try SignedSessionSerializer(secrets: [secret])
let json = try JSONSessionSerializer().serialize(state)

func now() -> Double { Date().timeIntervalSince1970 }

/// Encodes and decodes `iterations` times with `serializer`; the rates and the last cookie.
func measure(_ serializer: any SessionSerializer) throws -> (encode: Double, decode: Double, cookie: [UInt8]) {
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

// Profiling mode: SK_BENCH_OPS=<n> runs only SessionKit's encrypted side, n encodes then n
// decodes, and prints no timings (for instruction counts with valgrind --tool=callgrind).
if let ops = ProcessInfo.processInfo.environment["SK_BENCH_OPS"].flatMap({ Int($0) }) {
    var cookie = try encrypted.serialize(payload)
    var checksum = 0
    for _ in 0..<ops {
        cookie = try encrypted.serialize(payload)
        checksum &+= cookie.count
    }
    for _ in 0..<ops {
        if case .array(let parts) = try encrypted.deserialize(cookie) { checksum &+= parts.count }
    }
    print("PROFILE encrypted ops=\(ops) cookie_bytes=\(cookie.count) checksum=\(checksum)")
    exit(0)
}

struct Peers {
    var pysetoEncode = 0.0, pysetoDecode = 0.0, fernetEncode = 0.0, fernetDecode = 0.0
    var pysetoToken = ""
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let python = ProcessInfo.processInfo.environment["SESSIONKIT_PYTHON"] ?? root.deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path
func measurePeers() throws -> Peers {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
        root.appendingPathComponent("Scripts/encrypted_cookie_peers.py").path, String(iterations),
        key.map { String(format: "%02x", $0) }.joined(), String(decoding: json, as: UTF8.self), String(accessed), String(created),
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    guard FileManager.default.isExecutableFile(atPath: python) else {
        print("EncryptedCookieBenchmark: no Python at \(python): run python3 -m venv .venv && .venv/bin/pip install -r Benchmarks/requirements.txt, or set SESSIONKIT_PYTHON")
        exit(1)
    }
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let result = try JSONSerialization.jsonObject(with: output) as? [String: Any],
        let pe = result["pyseto_encode_per_s"] as? Double, let pd = result["pyseto_decode_per_s"] as? Double,
        let fe = result["fernet_encode_per_s"] as? Double, let fd = result["fernet_decode_per_s"] as? Double,
        let token = result["pyseto_token"] as? String
    else {
        print("EncryptedCookieBenchmark: the peer script failed (python: \(python)); install the peers with .venv/bin/pip install -r Benchmarks/requirements.txt, or set SESSIONKIT_PYTHON")
        exit(1)
    }
    return Peers(pysetoEncode: pe, pysetoDecode: pd, fernetEncode: fe, fernetDecode: fd, pysetoToken: token)
}

// Rounds alternate between the sides; each keeps its best, so load from other processes on a
// shared machine does not favour either.
var oursEncode = 0.0, oursDecode = 0.0, signedEncode = 0.0, signedDecode = 0.0
var peers = Peers()
var cookie: [UInt8] = []
var signedCookie: [UInt8] = []
for _ in 0..<rounds {
    let ours = try measure(encrypted)
    cookie = ours.cookie
    oursEncode = max(oursEncode, ours.encode)
    oursDecode = max(oursDecode, ours.decode)
    let plain = try measure(signed)
    signedCookie = plain.cookie
    signedEncode = max(signedEncode, plain.encode)
    signedDecode = max(signedDecode, plain.decode)
    let theirs = try measurePeers()
    peers.pysetoEncode = max(peers.pysetoEncode, theirs.pysetoEncode)
    peers.pysetoDecode = max(peers.pysetoDecode, theirs.pysetoDecode)
    peers.fernetEncode = max(peers.fernetEncode, theirs.fernetEncode)
    peers.fernetDecode = max(peers.fernetDecode, theirs.fernetDecode)
    peers.pysetoToken = theirs.pysetoToken
}

// pyseto's token decrypts in SessionKit to the same session values.
guard case .array(let parts) = try encrypted.deserialize(Array(peers.pysetoToken.utf8)), case .object(let read) = parts[2],
    case .object(let expected) = state, read == expected
else {
    print("pyseto's token did not decrypt in SessionKit to the benchmark's session")
    exit(1)
}

print("encrypted cookie (PASETO v4.local), 5-key session, \(json.count) bytes of JSON, cookie \(cookie.count) bytes (signed: \(signedCookie.count)), \(iterations) iterations, best of \(rounds) alternating rounds")
print("pyseto's token decrypts in SessionKit to the same session: true")
print("operation | SessionKit /s | pyseto /s | ratio | Fernet+json /s | ratio | SessionKit signed /s | encrypted/signed")
print(String(format: "encode    | %13.0f | %9.0f | %5.2f | %14.0f | %5.2f | %20.0f | %5.2f", oursEncode, peers.pysetoEncode, oursEncode / peers.pysetoEncode, peers.fernetEncode, oursEncode / peers.fernetEncode, signedEncode, oursEncode / signedEncode))
print(String(format: "decode    | %13.0f | %9.0f | %5.2f | %14.0f | %5.2f | %20.0f | %5.2f", oursDecode, peers.pysetoDecode, oursDecode / peers.pysetoDecode, peers.fernetDecode, oursDecode / peers.fernetDecode, signedDecode, oursDecode / signedDecode))
print(String(
    format: "RESULT encrypted vs_pyseto_encode=%.2f vs_pyseto_decode=%.2f vs_fernet_encode=%.2f vs_fernet_decode=%.2f encrypted_vs_signed_encode=%.2f encrypted_vs_signed_decode=%.2f",
    oursEncode / peers.pysetoEncode, oursDecode / peers.pysetoDecode, oursEncode / peers.fernetEncode, oursDecode / peers.fernetDecode,
    oursEncode / signedEncode, oursDecode / signedDecode))
