// SessionKitCrypto against swift-crypto (BoringSSL), side by side in one run.
//
//     swift run -c release --package-path Benchmarks CryptoBenchmark
//
// Each measurement alternates ours and theirs for several rounds and keeps each side's
// best round, so a burst of load from other processes on the shared machine penalises
// neither side more than the other. Both modules define SHA512, HMAC and SymmetricKey, so
// every use is qualified.

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

print(pad("benchmark", 40) + pad("unit", 7) + pad("SessionKit", 13) + pad("swift-crypto", 14) + "ratio")
for row in rows {
    print(
        pad(row.name, 40) + pad(row.unit, 7) + pad(format(row.ours), 13) + pad(format(row.theirs), 14)
            + String(format: "%.2f", row.ratio)
    )
}
print("(best of 7 alternating rounds each; checksum \(sink & 0xFF))")
let sha8k = rows.first { $0.name == "SHA-512 8 KiB" }!.ratio
let hmac = rows.first { $0.name == "HMAC-SHA512 256 B, reused key" }!.ratio
print(String(format: "RESULT crypto sha512_8k_ratio=%.2f hmac256_ratio=%.2f", sha8k, hmac))
