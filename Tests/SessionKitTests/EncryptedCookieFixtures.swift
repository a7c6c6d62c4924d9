import SessionKitCrypto

@testable import SessionKit

/// Seeded random sessions for the encrypted-cookie property and interoperability tests:
/// unicode keys and strings, nested arrays and objects, numbers, and sizes up to what fits
/// in the 4096-byte cookie.
struct RandomSessions {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func string(maximumLength: Int = 12) -> String {
        let pool: [Character] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{7F}", "é", "€", "日", "😀", "\u{2028}", ".", "=", ";",
        ]
        return String((0..<Int(rng.next() % UInt64(maximumLength + 1))).map { _ in pool[Int(rng.next() % UInt64(pool.count))] })
    }

    mutating func value(depth: Int) -> SessionValue {
        switch Int(rng.next() % (depth > 2 ? 5 : 7)) {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2: return .int(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64))
        case 3: return .double(Double(Int(truncatingIfNeeded: rng.next() % 2_000_000)) / 64 - 9999.5)
        case 4: return .string(string())
        case 5: return .array((0..<Int(rng.next() % 4)).map { _ in value(depth: depth + 1) })
        default:
            var object: [String: SessionValue] = [:]
            for _ in 0..<Int(rng.next() % 4) { object[string()] = value(depth: depth + 1) }
            return .object(object)
        }
    }

    /// A session's data: a few random values, and sometimes a long string so that the
    /// cookie's size spreads up to the limit. Never under the claims SessionKit reserves.
    mutating func session() -> [String: SessionValue] {
        var data: [String: SessionValue] = [:]
        for _ in 0..<Int(rng.next() % 6) {
            let key = string()
            if EncryptedSessionSerializer.reservedKeys.contains(key) || key == Session.createdKey { continue }
            data[key] = value(depth: 0)
        }
        if rng.next() % 3 == 0 {
            data["long"] = .string(string(maximumLength: Int(rng.next() % 1800)))
        }
        return data
    }

    mutating func key() -> [UInt8] { (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
}

extension EncryptedCookieSessionInterface {
    /// The cookie value of a `Set-Cookie` header.
    static func value(of header: String) -> String {
        String(header.dropFirst(header.prefix { $0 != "=" }.count + 1).prefix { $0 != ";" })
    }
}
