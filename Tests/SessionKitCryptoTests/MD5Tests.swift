import SessionKitCrypto
import Testing

@Suite("Insecure.MD5")
struct MD5Tests {
    /// RFC 1321, appendix A.5.
    static let rfc1321: [(String, String)] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"),
    ]

    @Test("RFC 1321 test suite", arguments: rfc1321.indices)
    func vectors(_ index: Int) {
        let (input, expected) = Self.rfc1321[index]
        #expect(Insecure.MD5.hash(data: Array(input.utf8)).description == expected)
        #expect(Insecure.MD5.byteCount == 16)
    }

    @Test("streaming in pieces of every size gives the one-shot digest")
    func streaming() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let whole = Insecure.MD5.hash(data: message)
        for piece in [1, 3, 55, 56, 63, 64, 65, 127, 128, 999] {
            var hasher = Insecure.MD5()
            var offset = 0
            while offset < message.count {
                let end = min(message.count, offset + piece)
                hasher.update(data: message[offset..<end])
                offset = end
            }
            #expect(hasher.finalize() == whole, "pieces of \(piece)")
            #expect(hasher.finalize() == whole, "finalize leaves the hasher unchanged")
        }
        // Padding boundaries: lengths around 55/56/64 bytes.
        #expect(Insecure.MD5.hash(data: [UInt8](repeating: 0x61, count: 55)).description == "ef1772b6dff9a122358552954ad0df65")
        #expect(Insecure.MD5.hash(data: [UInt8](repeating: 0x61, count: 56)).description == "3b0c8ac703f828b04c6c197006d17218")
        #expect(Insecure.MD5.hash(data: [UInt8](repeating: 0x61, count: 64)).description == "014842d480b571495a4a0363793f7367")
        #expect(Insecure.MD5.hash(data: [UInt8](repeating: 0x61, count: 1_000_000)).description == "7707d6ae4e027c70eea2a935c2296f21")
    }
}
