// The `cookie` suite: signed-cookie encode and decode of the same 5-key session (about 250
// bytes of JSON) with the same secret, SessionKit against pyramid (webob's SignedSerializer,
// the serializer SignedCookieSessionFactory uses), in one run.
//
//   swift run -c release --package-path Benchmarks CookieBenchmark [iterations] [rounds]
//
// It also measures the floor under any decode into a `SessionValue` (the HMAC and building
// the value, with no base64 and no parsing) and prints it on a `FLOOR cookie` line.
//
// pyramid runs in a Python subprocess: $SESSIONKIT_PYTHON, or the repository's .venv (see
// Benchmarks/requirements.txt), timing the same number of iterations.

import Foundation
import SessionKit
import SessionKitCrypto

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
// (SK_BENCH_PART=encode or decode for one of them, json for the JSON writing alone), and prints no timings, so that
// instruction counts (valgrind --tool=callgrind) can be compared between builds.
if let ops = ProcessInfo.processInfo.environment["SK_BENCH_OPS"].flatMap({ Int($0) }) {
    let part = ProcessInfo.processInfo.environment["SK_BENCH_PART"] ?? "both"
    var cookie = try serializer.serialize(payload)
    var checksum = 0
    if part == "json" {
        // The JSON writing alone (no MAC, no base64).
        let json = JSONSessionSerializer()
        for _ in 0..<ops { checksum &+= try json.serialize(payload).count }
        print("PROFILE cookie ops=\(ops) part=json checksum=\(checksum)")
        exit(0)
    }
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

// The floor under any decode into a `SessionValue`, measured on the same payload: the
// HMAC-SHA512 every verification computes (salt and secret absorbed once, as the serializer
// does), and creating and freeing the decoded value from ready-made pieces: the same strings,
// numbers, arrays and dictionaries, with no text to scan, no base64 and no signature.
enum Piece {
    case int(Int), double(Double), string(Range<Int>), array([Piece]), object([(Range<Int>, Piece)])
}
func measureFloor() -> (hmac: Double, value: Double) {
    let signedText = try! serializer.serialize(payload)
    let key = Array(("pyramid.session." + secret).utf8)
    let hmacKey = key.withUnsafeBytes { HMACKey<SHA512>(keyBytes: $0) }
    let decoded = Base64URL.decode(bytes: signedText.withUnsafeBytes { $0 })!.bytes
    let signedPayload = Array(decoded[64...])
    // The MAC computed here is the cookie's own.
    precondition(signedPayload.withUnsafeBytes { Array(hmacKey.authenticationCode(bufferPointer: $0)) } == Array(decoded[..<64]))
    var checksum = 0
    var start = now()
    signedPayload.withUnsafeBytes { bytes in
        for _ in 0..<iterations {
            checksum &+= Int(hmacKey.authenticationCode(bufferPointer: bytes).withUnsafeBytes { $0[0] })
        }
    }
    let hmac = (now() - start) / Double(iterations)
    // Every string of the value, in one buffer; the pieces refer to ranges of it.
    var text: [UInt8] = []
    func piece(_ value: SessionValue) -> Piece {
        func range(_ s: String) -> Range<Int> {
            let lower = text.count
            text.append(contentsOf: s.utf8)
            return lower..<text.count
        }
        switch value {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(range(s))
        case .array(let items): return .array(items.map(piece))
        case .object(let members): return .object(members.sorted { $0.key < $1.key }.map { (range($0.key), piece($0.value)) })
        default: fatalError("not in the benchmark's payload")
        }
    }
    let root = piece(payload)
    func build(_ p: Piece, _ bytes: UnsafeRawBufferPointer) -> SessionValue {
        switch p {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let r): return .string(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self))
        case .array(let items):
            return .array(Array(items.lazy.map { build($0, bytes) }))
        case .object(let members):
            let entries = members.lazy.map { (String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0.0]), as: UTF8.self), build($0.1, bytes)) }
            return .object(Dictionary(entries, uniquingKeysWith: { _, last in last }))
        }
    }
    precondition(text.withUnsafeBytes { build(root, $0) } == payload)
    start = now()
    text.withUnsafeBytes { bytes in
        for _ in 0..<iterations {
            if case .array(let parts) = build(root, bytes) { checksum &+= parts.count }
        }
    }
    let built = (now() - start) / Double(iterations)
    // The walk over the pieces alone, which a decoder would not do, is taken off.
    func walk(_ p: Piece, _ bytes: UnsafeRawBufferPointer) -> Int {
        switch p {
        case .int(let i): return i & 1
        case .double(let d): return d > 0 ? 1 : 0
        case .string(let r): return Int(bytes[r.lowerBound])
        case .array(let items): return items.lazy.map { walk($0, bytes) }.reduce(0, &+)
        case .object(let members): return members.lazy.map { Int(bytes[$0.0.lowerBound]) &+ walk($0.1, bytes) }.reduce(0, &+)
        }
    }
    start = now()
    text.withUnsafeBytes { bytes in
        for _ in 0..<iterations { checksum &+= walk(root, bytes) }
    }
    let value = built - (now() - start) / Double(iterations)
    precondition(checksum != 0)
    return (hmac, value)
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
    guard FileManager.default.isExecutableFile(atPath: python) else {
        print("CookieBenchmark: no Python at \(python): run python3 -m venv .venv && .venv/bin/pip install -r Benchmarks/requirements.txt, or set SESSIONKIT_PYTHON")
        exit(1)
    }
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let result = try JSONSerialization.jsonObject(with: output) as? [String: Any],
        let encode = result["encode_per_s"] as? Double, let decode = result["decode_per_s"] as? Double,
        let cookie = result["cookie"] as? String
    else {
        print("CookieBenchmark: the pyramid script failed (python: \(python)); install the peers with .venv/bin/pip install -r Benchmarks/requirements.txt, or set SESSIONKIT_PYTHON")
        exit(1)
    }
    return (encode, decode, cookie)
}

// Rounds alternate between the two sides; each keeps its best, so load from other processes
// on a shared machine does not favour either.
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3
var oursEncode = 0.0, oursDecode = 0.0, theirsEncode = 0.0, theirsDecode = 0.0
var hmacFloor = Double.infinity, valueFloor = Double.infinity
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
    let floor = measureFloor()
    hmacFloor = min(hmacFloor, floor.hmac)
    valueFloor = min(valueFloor, floor.value)
}
let same = theirCookie == String(decoding: cookie, as: UTF8.self)

print("signed cookie (HMAC-SHA512), 5-key session, \(json.count) bytes of JSON, cookie \(cookie.count) bytes, \(iterations) iterations, best of \(rounds) alternating rounds")
print("identical cookie bytes from both: \(same)")
print("operation | SessionKit /s | pyramid /s | ratio")
print(String(format: "encode    | %13.0f | %10.0f | %5.2f", oursEncode, theirsEncode, oursEncode / theirsEncode))
print(String(format: "decode    | %13.0f | %10.0f | %5.2f", oursDecode, theirsDecode, oursDecode / theirsDecode))
// No decode that verifies the MAC and returns a `SessionValue` can be faster than the two
// together: it would still have to decode the base64 text and scan the JSON.
let floorRate = 1 / (hmacFloor + valueFloor)
print(String(format: "floor of a decode: HMAC-SHA512 of the payload %.2f us + creating and freeing the decoded value from ready-made pieces %.2f us = %.0f /s, %.2f x pyramid", hmacFloor * 1e6, valueFloor * 1e6, floorRate, floorRate / theirsDecode))
print(String(format: "FLOOR cookie hmac_us=%.3f value_us=%.3f decode_floor_ratio=%.2f", hmacFloor * 1e6, valueFloor * 1e6, floorRate / theirsDecode))
print(String(format: "RESULT cookie encode_ratio=%.2f decode_ratio=%.2f", oursEncode / theirsEncode, oursDecode / theirsDecode))
