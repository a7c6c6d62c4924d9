// SessionKitCrypto against swift-crypto (BoringSSL), side by side in one run, and against
// `openssl speed` for BLAKE2b and ChaCha20, which swift-crypto does not offer.
//
//     swift run -c release --package-path Benchmarks CryptoBenchmark
//
// Each measurement alternates ours and theirs for several rounds and keeps each side's
// best round, so a burst of load from other processes on the shared machine penalises
// neither side more than the other. For the OpenSSL rows, our best of 7 rounds is taken
// before and after `openssl speed -seconds 3` runs in a child process. Both modules
// define SHA512, HMAC and SymmetricKey, so every use is qualified.

import Crypto
import Foundation
import SessionKitCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Keeps results alive so the optimiser cannot drop the work.
nonisolated(unsafe) var sink: UInt64 = 0

/// Runs `body` `iterations` times per round and returns the best operations per second
/// for each of the two bodies, alternating them round by round.
func compare(
    rounds: Int = 7,
    targetSeconds: Double = 0.12,
    ours: () -> UInt8,
    theirs: () -> UInt8
) -> (ours: Double, theirs: Double) {
    // Calibrate on ours: enough iterations for roughly targetSeconds per round.
    var iterations = 16
    while true {
        let start = now()
        for _ in 0..<iterations { sink &+= UInt64(ours()) }
        let elapsed = now() - start
        if elapsed > targetSeconds / 4 {
            iterations = max(16, Int(Double(iterations) * targetSeconds / elapsed))
            break
        }
        iterations *= 4
    }
    var best = (ours: 0.0, theirs: 0.0)
    for _ in 0..<rounds {
        var start = now()
        for _ in 0..<iterations { sink &+= UInt64(ours()) }
        best.ours = max(best.ours, Double(iterations) / (now() - start))
        start = now()
        for _ in 0..<iterations { sink &+= UInt64(theirs()) }
        best.theirs = max(best.theirs, Double(iterations) / (now() - start))
    }
    return best
}

struct Row {
    let name: String
    let unit: String
    let ours: Double
    let theirs: Double
    var ratio: Double { ours / theirs }
}

/// Runs `body` for rounds of about `targetSeconds` and returns the best operations per second.
func measure(rounds: Int = 7, targetSeconds: Double = 0.12, _ body: () -> UInt8) -> Double {
    var iterations = 16
    while true {
        let start = now()
        for _ in 0..<iterations { sink &+= UInt64(body()) }
        let elapsed = now() - start
        if elapsed > targetSeconds / 4 {
            iterations = max(16, Int(Double(iterations) * targetSeconds / elapsed))
            break
        }
        iterations *= 4
    }
    var best = 0.0
    for _ in 0..<rounds {
        let start = now()
        for _ in 0..<iterations { sink &+= UInt64(body()) }
        best = max(best, Double(iterations) / (now() - start))
    }
    return best
}

/// Runs `openssl speed -evp <algorithm> -bytes <size> -seconds 3` and returns its
/// throughput in MB/s (OpenSSL prints 1000s of bytes per second, suffixed "k"), or nil if
/// openssl is missing or prints something else.
func opensslSpeed(_ algorithm: String, bytes size: Int) -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "speed", "-evp", algorithm, "-bytes", "\(size)", "-seconds", "3"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    // The last line is "<name> <throughput>k", e.g. "blake2b512      793286.67k".
    guard let line = output.split(separator: "\n").last(where: { $0.hasSuffix("k") }),
        let field = line.split(separator: " ").last,
        let thousands = Double(field.dropLast())
    else { return nil }
    return thousands / 1000
}

/// Our best MB/s for `body` on `size` bytes, measured before and after OpenSSL's run, and
/// OpenSSL's MB/s for the same size.
func compareWithOpenSSL(_ algorithm: String, size: Int, _ body: () -> UInt8) -> (ours: Double, theirs: Double)? {
    let before = measure(body)
    guard let theirs = opensslSpeed(algorithm, bytes: size) else { return nil }
    let after = measure(body)
    return (max(before, after) * Double(size) / 1e6, theirs)
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

func format(_ value: Double) -> String {
    String(format: value >= 100 ? "%.0f" : "%.1f", value)
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

var rows: [Row] = []

// SHA-512 throughput at three message sizes.
for size in [64, 1024, 8192] {
    let message = randomBytes(size)
    precondition(
        Array(SessionKitCrypto.SHA512.hash(data: message)) == Array(Crypto.SHA512.hash(data: message)),
        "SHA-512 results differ"
    )
    let result = compare(
        ours: { SessionKitCrypto.SHA512.hash(data: message).withUnsafeBytes { $0[0] } },
        theirs: { Crypto.SHA512.hash(data: message).withUnsafeBytes { $0[0] } }
    )
    let mb = Double(size) / 1e6
    let label = size >= 1024 ? "\(size / 1024) KiB" : "\(size) B"
    rows.append(Row(name: "SHA-512 \(label)", unit: "MB/s", ours: result.ours * mb, theirs: result.theirs * mb))
}

// SHA-256 at 8 KiB, for information: BoringSSL uses the CPU's SHA extensions where present.
do {
    let message = randomBytes(8192)
    let result = compare(
        ours: { SessionKitCrypto.SHA256.hash(data: message).withUnsafeBytes { $0[0] } },
        theirs: { Crypto.SHA256.hash(data: message).withUnsafeBytes { $0[0] } }
    )
    rows.append(Row(name: "SHA-256 8 KiB (info)", unit: "MB/s", ours: result.ours * 0.008192, theirs: result.theirs * 0.008192))
}

// HMAC-SHA512 on a 256-byte message: our prepared key, reused, against swift-crypto's
// one-shot HMAC with its SymmetricKey (swift-crypto has no reusable keyed state).
let keyBytes = randomBytes(64)
let message256 = randomBytes(256)
let ourKey = HMACKey<SessionKitCrypto.SHA512>(SessionKitCrypto.SymmetricKey(data: keyBytes))
let ourSymmetricKey = SessionKitCrypto.SymmetricKey(data: keyBytes)
let theirKey = Crypto.SymmetricKey(data: keyBytes)
precondition(
    Array(ourKey.authenticationCode(for: message256))
        == Array(Crypto.HMAC<Crypto.SHA512>.authenticationCode(for: message256, using: theirKey)),
    "HMAC results differ"
)
do {
    let result = compare(
        ours: { ourKey.authenticationCode(for: message256).withUnsafeBytes { $0[0] } },
        theirs: { Crypto.HMAC<Crypto.SHA512>.authenticationCode(for: message256, using: theirKey).withUnsafeBytes { $0[0] } }
    )
    rows.append(Row(name: "HMAC-SHA512 256 B, reused key", unit: "ops/s", ours: result.ours, theirs: result.theirs))
}
do {
    let result = compare(
        ours: {
            SessionKitCrypto.HMAC<SessionKitCrypto.SHA512>.authenticationCode(for: message256, using: ourSymmetricKey)
                .withUnsafeBytes { $0[0] }
        },
        theirs: { Crypto.HMAC<Crypto.SHA512>.authenticationCode(for: message256, using: theirKey).withUnsafeBytes { $0[0] } }
    )
    rows.append(Row(name: "HMAC-SHA512 256 B, SymmetricKey (info)", unit: "ops/s", ours: result.ours, theirs: result.theirs))
}

// BLAKE2b-512 and ChaCha20 on 8 KiB against `openssl speed` (OpenSSL's BLAKE2b is portable
// C; its ChaCha20 uses the widest vector unit the CPU has).
var opensslRatios: [String: Double] = [:]
do {
    let message = randomBytes(8192)
    let key = randomBytes(32)
    let nonce = randomBytes(12)
    // The four-block SIMD path (used for 8 KiB) must agree, in this release build, with the
    // scalar block function.
    let keystream = (0..<128).flatMap { ChaCha20.block(key: key, nonce: nonce, counter: UInt32($0)) }
    precondition(ChaCha20.xor([UInt8](repeating: 0, count: 8192), key: key, nonce: nonce) == keystream, "ChaCha20 paths differ")
    if let result = compareWithOpenSSL("blake2b512", size: 8192, { BLAKE2b.hash(data: message)[0] }) {
        rows.append(Row(name: "BLAKE2b-512 8 KiB (vs OpenSSL)", unit: "MB/s", ours: result.ours, theirs: result.theirs))
        opensslRatios["blake2b"] = result.ours / result.theirs
    }
    if let result = compareWithOpenSSL("chacha20", size: 8192, { ChaCha20.xor(message, key: key, nonce: nonce)[0] }) {
        rows.append(Row(name: "ChaCha20 8 KiB (vs OpenSSL)", unit: "MB/s", ours: result.ours, theirs: result.theirs))
        opensslRatios["chacha20"] = result.ours / result.theirs
    }
}

print(pad("benchmark", 40) + pad("unit", 7) + pad("SessionKit", 13) + pad("reference", 14) + "ratio")
for row in rows {
    print(
        pad(row.name, 40) + pad(row.unit, 7) + pad(format(row.ours), 13) + pad(format(row.theirs), 14)
            + String(format: "%.2f", row.ratio)
    )
}
print("(reference: swift-crypto unless the row says OpenSSL; best of 7 rounds each; checksum \(sink & 0xFF))")
let sha8k = rows.first { $0.name == "SHA-512 8 KiB" }!.ratio
let hmac = rows.first { $0.name == "HMAC-SHA512 256 B, reused key" }!.ratio
let opensslFields = ["blake2b", "chacha20"].map { name in
    opensslRatios[name].map { " \(name)_ratio=" + String(format: "%.2f", $0) } ?? " \(name)_ratio=n/a"
}
print(String(format: "RESULT crypto sha512_8k_ratio=%.2f hmac256_ratio=%.2f", sha8k, hmac) + opensslFields.joined())
