import SessionKitCrypto
import Testing

/// Thousands of seeded messages and keys (lengths 0...1000) against results that
/// scripts/crypto-vectors.py computed with Python's hashlib and hmac.
@Suite("Differential against Python hashlib/hmac")
struct DifferentialTests {
    @Test("3000 seeded cases: SHA-256/384/512 and HMAC-SHA-256/384/512")
    func seededCases() async throws {
        let lines = differentialVectors.split(separator: "\n")
        try #require(lines.count == differentialCaseCount)
        var lengthsSeen = Set<Int>()
        var failures = 0
        for (index, line) in lines.enumerated() {
            // Seconds of CPU in a debug build: leave the cooperative pool's threads to other
            // suites' tasks now and then, whose deadlines run meanwhile.
            if index % 64 == 0 { await Task.yield() }
            var rng = SplitMix64(seed: UInt64(index))
            let messageLength = Int(rng.next() % 1001)
            let keyLength = Int(rng.next() % 1001)
            let message = rng.bytes(count: messageLength)
            let keyBytes = rng.bytes(count: keyLength)
            lengthsSeen.insert(messageLength)
            let key = SymmetricKey(data: keyBytes)

            // Hash in two pieces at a seeded split point, to cover streaming too.
            let split = Int(rng.next() % UInt64(messageLength + 1))
            var sha512 = SHA512()
            sha512.update(data: message[..<split])
            sha512.update(data: message[split...])

            let results = [
                hex(SHA256.hash(data: message).prefix(8)),
                hex(SHA384.hash(data: message).prefix(8)),
                hex(sha512.finalize().prefix(8)),
                hex(HMAC<SHA256>.authenticationCode(for: message, using: key).prefix(8)),
                hex(HMAC<SHA384>.authenticationCode(for: message, using: key).prefix(8)),
                hex(HMAC<SHA512>.authenticationCode(for: message, using: key).prefix(8)),
            ].joined()
            if results != line {
                failures += 1
                if failures <= 5 {
                    Issue.record("case \(index) (message \(messageLength) bytes, key \(keyLength) bytes): got \(results), Python says \(line)")
                }
            }
        }
        #expect(failures == 0)
        // The seeds must cover the interesting lengths broadly (block boundaries included).
        #expect(lengthsSeen.count > 900)
    }
}
