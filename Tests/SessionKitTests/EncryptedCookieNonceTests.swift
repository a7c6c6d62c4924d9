import Dispatch
import Foundation
import SessionKitCrypto
import SessionKitTestSupport
import Synchronization
import Testing

@testable import SessionKit

/// Every token gets its own nonce: across many tokens, across threads, and across `fork(2)`
/// (the nonces come from a buffered pool, whose bytes a forked child must not hand out again).
@Suite("Encrypted cookie nonces")
struct EncryptedCookieNonceTests {
    static let serializer = EncryptedSessionSerializer(
        keys: [Array(repeating: 0x42, count: 32)], cookieName: "session", timeout: 1200, absoluteLifetime: nil)
    static let payload: SessionValue = .array([.int(1_795_300_000), .double(1_795_299_123.5), ["user": "ada", "n": 1]])

    /// The nonce of a token: the first 32 bytes of its body.
    static func nonce(of token: [UInt8]) throws -> [UInt8] {
        #expect(token.starts(with: Array("v4.local.".utf8)))
        let body = try #require(Array(token[9...]).withUnsafeBytes { Base64URL.decode(bytes: $0) })
        try #require(body.bytes.count >= 64)
        return Array(body.bytes[..<32])
    }

    @Test func tokensHaveDistinctNonces() throws {
        var nonces = Set<[UInt8]>()
        for _ in 0..<20_000 {
            let token = try Self.serializer.serialize(Self.payload)
            nonces.insert(try Self.nonce(of: token))
        }
        #expect(nonces.count == 20_000)
        #expect(!nonces.contains([UInt8](repeating: 0, count: 32)))
    }

    @Test func tokensMadeOnSeveralThreadsHaveDistinctNonces() throws {
        let threads = 4
        let perThread = 5_000
        let nonces = Mutex<[[UInt8]]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var mine: [[UInt8]] = []
            for _ in 0..<perThread {
                mine.append((try? Self.serializer.serialize(Self.payload)).flatMap { try? Self.nonce(of: $0) } ?? [])
            }
            nonces.withLock { $0 += mine }
        }
        let all = nonces.withLock { $0 }
        #expect(all.allSatisfy { $0.count == 32 })
        #expect(Set(all).count == threads * perThread)
    }

    /// `SessionKitForkProbe` fills the pool, forks, and prints the four values the parent
    /// draws next and the four the child draws: without the fork check they would be the same.
    @Test(arguments: ["pool", "tokens"])
    func aForkedChildDoesNotReuseTheParentsBufferedBytes(mode: String) async throws {
        let probe = try HelperTool.path(of: "SessionKitForkProbe", override: "SESSIONKIT_FORK_PROBE")
        let (status, output) = try await runBlocking { try runTool(probe, [mode]) }
        try #require(status == 0, "the probe failed: \(output)")
        var values: [String: [String]] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if let who = fields.first { values[who] = Array(fields.dropFirst()) }
        }
        let parent = try #require(values["parent"], "no parent line in \(output)")
        let child = try #require(values["child"], "no child line in \(output)")
        #expect(parent.count == 4 && child.count == 4)
        #expect((parent + child).allSatisfy { $0.count == 64 && $0 != String(repeating: "0", count: 64) })
        #expect(Set(parent).isDisjoint(with: child), "the child handed out the parent's bytes: \(output)")
        #expect(Set(parent + child).count == 8)
    }
}
