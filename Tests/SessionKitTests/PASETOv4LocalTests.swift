import Foundation
import SessionKitCrypto
import Testing

@testable import SessionKit

/// One official PASETO v4.local vector (Tests/Vectors/paseto-v4-local.json).
struct PASETOVector: Sendable, CustomTestStringConvertible, Decodable {
    let name: String
    let key: String
    let nonce: String
    let token: String
    let payload: String
    let footer: String
    let implicitAssertion: String

    enum CodingKeys: String, CodingKey {
        case name, key, nonce, token, payload, footer
        case implicitAssertion = "implicit-assertion"
    }

    var testDescription: String { name }

    /// The nine local vectors of the PASETO test suite (paseto-standard test-vectors, as
    /// mirrored in panva/paseto's vectors/v4.json); the file names its source.
    static let all: [PASETOVector] = {
        struct File: Decodable {
            let source: String
            let tests: [PASETOVector]
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/paseto-v4-local.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).tests
    }()
}

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    func value(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
    return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
}

@Suite("PASETO v4.local")
struct PASETOv4LocalTests {
    @Test func vectorFileHasTheNineLocalVectors() {
        #expect(PASETOVector.all.map(\.name) == (1...9).map { "4-E-\($0)" })
    }

    @Test(arguments: PASETOVector.all)
    func encryptsLikeTheVector(_ v: PASETOVector) {
        let key = PASETOv4Local.Key(hexBytes(v.key))
        let token = Array(v.payload.utf8).withUnsafeBytes { m in
            hexBytes(v.nonce).withUnsafeBytes { n in
                Array(v.implicitAssertion.utf8).withUnsafeBytes { i in
                    PASETOv4Local.encrypt(m, key: key, nonce: n, footer: Array(v.footer.utf8), implicitAssertion: i)
                }
            }
        }
        #expect(String(decoding: token, as: UTF8.self) == v.token)
    }

    @Test(arguments: PASETOVector.all)
    func decryptsTheVector(_ v: PASETOVector) throws {
        let other = PASETOv4Local.Key([UInt8](repeating: 7, count: 32))
        let keys = [other, PASETOv4Local.Key(hexBytes(v.key))]
        let result = try Self.decrypt(v.token, keys: keys, footer: v.footer, implicitAssertion: v.implicitAssertion)
        #expect(String(decoding: result.message, as: UTF8.self) == v.payload)
        #expect(result.keyIndex == 1)
        // Another implicit assertion, another footer, or the wrong key alone: refused.
        #expect(throws: PASETOv4Local.Failure.authentication) {
            try Self.decrypt(v.token, keys: keys, footer: v.footer, implicitAssertion: v.implicitAssertion + "x")
        }
        #expect(throws: PASETOv4Local.Failure.footer) {
            try Self.decrypt(v.token, keys: keys, footer: v.footer + "x", implicitAssertion: v.implicitAssertion)
        }
        #expect(throws: PASETOv4Local.Failure.authentication) {
            try Self.decrypt(v.token, keys: [other], footer: v.footer, implicitAssertion: v.implicitAssertion)
        }
    }

    static func decrypt(_ token: String, keys: [PASETOv4Local.Key], footer: String, implicitAssertion: String) throws(PASETOv4Local.Failure) -> (message: [UInt8], keyIndex: Int) {
        let result = Array(token.utf8).withUnsafeBytes { t in
            Array(implicitAssertion.utf8).withUnsafeBytes { i in
                Result { () throws(PASETOv4Local.Failure) in try PASETOv4Local.decrypt(t, keys: keys, footer: Array(footer.utf8), implicitAssertion: i) }
            }
        }
        return try result.get()
    }

    /// The PAE examples of the PASETO specification (Common.md).
    @Test func preAuthenticationEncoding() {
        #expect(PASETOv4Local.pae([]) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(PASETOv4Local.pae([[]]) == [1, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(PASETOv4Local.pae([Array("test".utf8)]) == [1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0] + Array("test".utf8))
        // Streaming PAE into the hash equals hashing the built encoding.
        let pieces: [[UInt8]] = [Array("v4.local.".utf8), [1, 2, 3], [], Array(repeating: 9, count: 300)]
        var streamed = BLAKE2b(key: [UInt8](repeating: 1, count: 32), outputByteCount: 32)
        let buffers = pieces.map { piece in UnsafeRawBufferPointer(UnsafeMutableRawBufferPointer.allocate(byteCount: piece.count, alignment: 1)) }
        defer { buffers.forEach { $0.deallocate() } }
        for (buffer, piece) in zip(buffers, pieces) { UnsafeMutableRawBufferPointer(mutating: buffer).copyBytes(from: piece) }
        PASETOv4Local.absorbPAE(buffers, into: &streamed)
        #expect(streamed.finalize() == BLAKE2b.hash(data: PASETOv4Local.pae(pieces), key: [UInt8](repeating: 1, count: 32), outputByteCount: 32))
    }

    /// Other versions and purposes, and headers that are almost right, fail before any key is used.
    @Test(arguments: ["v3.local.", "v4.public.", "v2.local.", "V4.local.", "v4.Local.", "v4.local", "v4local.", ""])
    func otherHeadersAreRefused(_ header: String) throws {
        let v = PASETOVector.all[0]
        let body = v.token.dropFirst("v4.local.".count)
        #expect(throws: PASETOv4Local.Failure.header) {
            try Self.decrypt(header + body, keys: [PASETOv4Local.Key(hexBytes(v.key))], footer: "", implicitAssertion: "")
        }
    }

    @Test func malformedBodiesAreRefusedBeforeTheTag() throws {
        let v = PASETOVector.all[0]
        let key = PASETOv4Local.Key(hexBytes(v.key))
        let body = String(v.token.dropFirst("v4.local.".count))
        for bad in ["v4.local." + body + "=", "v4.local." + body.replacingOccurrences(of: "_", with: "/"), "v4.local.", "v4.local." + String(body.prefix(85)), "v4.local." + body + "!"] {
            #expect {
                try Self.decrypt(bad, keys: [key], footer: "", implicitAssertion: "")
            } throws: { error in
                if case .encoding = error as? PASETOv4Local.Failure { true } else { false }
            }
        }
        // A footer where none is expected, even an empty one.
        #expect(throws: PASETOv4Local.Failure.footer) { try Self.decrypt(v.token + ".", keys: [key], footer: "", implicitAssertion: "") }
        #expect(throws: PASETOv4Local.Failure.footer) { try Self.decrypt(v.token + ".e30", keys: [key], footer: "", implicitAssertion: "") }
    }

    @Test func randomNoncesDiffer() throws {
        let key = PASETOv4Local.Key([UInt8](repeating: 3, count: 32))
        let message = Array("{}".utf8)
        let tokens = try (0..<20).map { _ in
            try message.withUnsafeBytes { m in try [UInt8]().withUnsafeBytes { i in try PASETOv4Local.encrypt(m, key: key, implicitAssertion: i) } }
        }
        #expect(Set(tokens).count == 20)
        for token in tokens {
            #expect(try Self.decrypt(String(decoding: token, as: UTF8.self), keys: [key], footer: "", implicitAssertion: "").message == message)
        }
    }
}

@Suite("PASETO claim times")
struct ClaimTimeTests {
    @Test(arguments: [
        (0, "1970-01-01T00:00:00+00:00"), (1_750_000_000, "2025-06-15T15:06:40+00:00"), (951_782_400, "2000-02-29T00:00:00+00:00"),
        (4_102_444_799, "2099-12-31T23:59:59+00:00"), (-1, "1969-12-31T23:59:59+00:00"),
    ])
    func formatsAsPython(_ seconds: Int, _ text: String) {
        #expect(ClaimTime.format(seconds) == text)
        #expect(ClaimTime.parse(text) == Double(seconds))
    }

    @Test func parsesOffsetsFractionsAndZ() {
        #expect(ClaimTime.parse("2025-06-15T16:06:40+01:00") == 1_750_000_000)
        #expect(ClaimTime.parse("2025-06-15T15:06:40Z") == 1_750_000_000)
        #expect(ClaimTime.parse("2025-06-15t15:06:40z") == 1_750_000_000)
        #expect(ClaimTime.parse("2024-02-29T23:59:59.250-05:30") == 1_709_270_999.25)
    }

    @Test(arguments: [
        "2025-02-29T00:00:00+00:00", "2025-06-15T24:00:00+00:00", "2025-06-15T15:06:40", "2025-06-15 15:06:40+00:00",
        "2025-06-15T15:06:40+0000", "2025-13-01T00:00:00Z", "2025-06-15T15:06:40.Z", "2025-06-15T15:06:40Zx", "0000-01-01T00:00:00Z",
        "", "2025-06-15", "２025-06-15T15:06:40Z",
    ])
    func refusesWhatIsNotADateTime(_ text: String) {
        #expect(ClaimTime.parse(text) == nil)
    }

    @Test func formatAndParseAgreeOverCenturies() {
        var generator = SplitMix64(seed: 0x7141_5E70)
        for _ in 0..<2000 {
            let seconds = Int.random(in: -2_000_000_000...8_000_000_000, using: &generator)
            #expect(ClaimTime.parse(ClaimTime.format(seconds)) == Double(seconds))
        }
    }
}
