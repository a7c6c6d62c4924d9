import SessionKit

/// The rules memcached keys must follow, checked before a key is written to any socket.
///
/// A key is 1 to 250 bytes of printable ASCII (`!` through `~`): no spaces, no control
/// characters (CR, LF, NUL, DEL...), no bytes above 127. A key with CR or LF in it would end the
/// command early and let the rest of the key run as a command of its own (memcached injection),
/// so an invalid key is refused with `invalidKey` and nothing is sent.
public enum MemcachedKey {
    /// The longest key memcached accepts, in bytes.
    public static let maximumLength = 250

    /// Returns the key's bytes, or throws `invalidKey` naming the first offending byte.
    ///
    /// ```swift
    /// let bytes = try MemcachedKey.validate("session:3f9a")   // ok
    /// try MemcachedKey.validate("a\r\nflush_all")               // throws invalidKey
    /// ```
    @discardableResult
    public static func validate(_ key: String) throws(SessionError) -> [UInt8] {
        let bytes = Array(key.utf8)
        try validate(bytes: bytes)
        return bytes
    }

    /// Checks key bytes; see ``validate(_:)``.
    public static func validate(bytes: [UInt8]) throws(SessionError) {
        guard !bytes.isEmpty else {
            throw SessionError(.invalidKey, "the memcached key is empty; use a non-empty key such as prefix + session ID")
        }
        guard bytes.count <= maximumLength else {
            throw SessionError(.invalidKey, "the memcached key is \(bytes.count) bytes long, over memcached's limit of \(maximumLength); use a shorter prefix or shorter IDs, or hashIDsAtRest")
        }
        for (offset, byte) in bytes.enumerated() where byte <= 0x20 || byte >= 0x7F {
            let what = describe(byte)
            throw SessionError(.invalidKey, "the memcached key of \(bytes.count) bytes contains \(what) at byte \(offset); memcached keys must be 1-\(maximumLength) bytes of printable ASCII without spaces, so it was refused before anything was sent (such a key could inject memcached commands). Use a printable ASCII prefix and well-formed session IDs")
        }
    }

    /// Whether `bytes` is a valid key, without building an error.
    @inlinable
    public static func isValid(bytes: some Collection<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        for byte in bytes where byte <= 0x20 || byte >= 0x7F { return false }
        return true
    }

    /// One byte as messages show it: its class and hex value. Messages never quote keys,
    /// lines or values (a key holds a session ID); they name lengths, offsets and byte classes.
    static func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x30...0x39: return "a digit (0x\(hex(byte)))"
        case 0x41...0x5A, 0x61...0x7A: return "a letter (0x\(hex(byte)))"
        case 0x21...0x7E: return "the punctuation byte 0x\(hex(byte))"
        case 0x20: return "a space (0x20)"
        case 0x0D: return "a carriage return (CR)"
        case 0x0A: return "a line feed (LF)"
        case 0x00: return "a NUL byte"
        case 0x7F: return "a DEL control character"
        case 0x80...: return "a non-ASCII byte 0x\(hex(byte))"
        default: return "the control character 0x\(hex(byte))"
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
