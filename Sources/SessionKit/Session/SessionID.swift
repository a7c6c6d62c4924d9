import SessionKitCrypto

/// Session identifiers: 256 bits from the system CSPRNG, base64url without padding.
public enum SessionID {
    /// The length of a generated ID: 32 random bytes as unpadded base64url.
    public static let length = 43

    /// Returns a new random session ID (43 base64url characters, 256 bits of entropy).
    ///
    /// - Throws: ``SessionError`` with code `storeFailure` when the OS refuses random bytes.
    public static func generate() throws(SessionError) -> String {
        var raw = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        do {
            try withUnsafeMutableBytes(of: &raw) { (buffer) throws(SecureRandomError) in try SecureRandom.fill(buffer) }
        } catch {
            throw SessionError(.storeFailure, "cannot create a session ID: \(error)")
        }
        return withUnsafeBytes(of: &raw) { Base64URL.encode($0) }
    }

    /// True when `id` has the shape of a SessionKit ID (43 base64url characters encoding
    /// exactly 256 bits) or of a sanic_session ID (32 lowercase hexadecimal characters).
    ///
    /// Anything else is ignored without touching a store.
    public static func isWellFormed(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { isWellFormed(utf8: $0) }
    }

    static func isWellFormed(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch bytes.count {
        case length:
            // Branch-free: ID characters are random, so a per-character branch on the
            // character class would be mispredicted on most of them.
            let table = base64URLTable.utf8Start
            var valid: UInt8 = 1
            for c in bytes {
                valid &= table[Int(c & 127)] & (c < 128 ? 1 : 0)
            }
            if valid == 0 { return false }
            // 256 bits fill 42 characters and 4 bits of the last: its 2 low bits must be 0.
            let last = bytes[length - 1]
            let sextet: UInt8
            switch last {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): sextet = last - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): sextet = last - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sextet = last - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): sextet = 62
            default: sextet = 63
            }
            return sextet & 3 == 0
        case 32:
            for c in bytes {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): continue
                default: return false
                }
            }
            return true
        default:
            return false
        }
    }

    /// Odd (`1`) at the positions of the base64url characters, even (`0`) elsewhere.
    private static let base64URLTable: StaticString =
        "00000000000000000000000000000000000000000000010011111111110000000111111111111111111111111110000101111111111111111111111111100000"
}
