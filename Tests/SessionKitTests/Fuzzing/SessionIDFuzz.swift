@testable import SessionKit
import SessionKitCrypto

/// Fuzz target `session_id`: ``SessionID/isWellFormed(_:)`` (and its byte form).
///
/// Input: the whole input is the candidate ID.
///
/// Checks: the byte and `String` forms agree; an accepted ID is exactly 43 base64url
/// characters that decode canonically to 32 bytes (and re-encode to the same text), or
/// exactly 32 lowercase hexadecimal characters, and the reference test of those rules
/// agrees in both directions; IDs built from the input bytes (base64url of 32 bytes,
/// lowercase hex of 16 bytes) are accepted, and each single-byte change that leaves the
/// alphabet, changes the length or sets the spare bits is refused.
enum SessionIDFuzz {
    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        let accepted = data.withUnsafeBufferPointer { SessionID.isWellFormed(utf8: $0) }
        try fuzzCheck(accepted == reference(data), "isWellFormed = \(accepted) for \(fuzzDescribe(data)), reference disagrees")
        if let text = String(validating: data, as: UTF8.self) {
            try fuzzCheck(SessionID.isWellFormed(text) == accepted, "String and byte forms disagree on \(fuzzDescribe(data))")
        }
        if accepted && data.count == SessionID.length {
            let decoded = data.withUnsafeBytes { Base64URL.decode(bytes: $0) }
            try fuzzCheck(decoded?.bytes.count == 32 && decoded?.isCanonical == true, "accepted ID \(fuzzDescribe(data)) is not 32 canonical bytes")
            try fuzzCheck(Base64URL.encodeToBytes(decoded?.bytes ?? []) == data, "accepted ID \(fuzzDescribe(data)) does not re-encode to itself")
        }

        // IDs of both formats built from the input.
        var raw = Array(data.prefix(32))
        raw += repeatElement(UInt8(truncatingIfNeeded: data.count), count: 32 - raw.count)
        let generated = Base64URL.encodeToBytes(raw)
        try fuzzCheck(generated.count == SessionID.length, "base64url of 32 bytes is \(generated.count) characters")
        try checkAccepted(generated)
        let hexDigits = Array("0123456789abcdef".utf8)
        let hex = raw.prefix(16).flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]] }
        try checkAccepted(hex)

        // Single-byte changes chosen by the input.
        let position = Int(data.first ?? 0)
        let replacement = data.last ?? 0
        for var id in [generated, hex] {
            let index = position % id.count
            let original = id[index]
            id[index] = replacement
            let shouldHold = reference(id)
            try fuzzCheck(isWellFormed(id) == shouldHold, "changed ID \(fuzzDescribe(id)) judged \(!shouldHold)")
            if !isBase64URL(replacement) && !(id.count == 32 && isLowerHex(replacement)) {
                try fuzzCheck(!isWellFormed(id), "ID with \(fuzzDescribe([replacement])) in place of \(fuzzDescribe([original])) accepted")
            }
            id[index] = original
            try fuzzCheck(!isWellFormed(id + [UInt8(ascii: "A")]), "ID one character too long accepted")
            try fuzzCheck(!isWellFormed(Array(id.dropLast())), "ID one character too short accepted")
        }
        // The last character of a base64url ID carries 4 bits: any of the 2 spare bits set is refused.
        var spare = generated
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let sextet = alphabet.firstIndex(of: spare[42])!
        spare[42] = alphabet[(sextet & ~3) | Int(1 + replacement % 3)]
        try fuzzCheck(!isWellFormed(spare), "ID with spare bits set accepted: \(fuzzDescribe(spare))")
    }

    static func isWellFormed(_ id: [UInt8]) -> Bool {
        id.withUnsafeBufferPointer { SessionID.isWellFormed(utf8: $0) }
    }

    static func checkAccepted(_ id: [UInt8]) throws(FuzzViolation) {
        try fuzzCheck(isWellFormed(id), "well-formed ID \(fuzzDescribe(id)) refused")
        try fuzzCheck(SessionID.isWellFormed(String(decoding: id, as: UTF8.self)), "well-formed ID \(fuzzDescribe(id)) refused as String")
    }

    static func isBase64URL(_ c: UInt8) -> Bool {
        (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) || c == 0x2D || c == 0x5F
    }

    static func isLowerHex(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x61...0x66).contains(c) }

    /// The documented rules, checked through the base64url decoder.
    static func reference(_ id: [UInt8]) -> Bool {
        switch id.count {
        case 43:
            guard id.allSatisfy(isBase64URL), let decoded = id.withUnsafeBytes({ Base64URL.decode(bytes: $0) }) else { return false }
            return decoded.bytes.count == 32 && decoded.isCanonical
        case 32:
            return id.allSatisfy(isLowerHex)
        default:
            return false
        }
    }
}
