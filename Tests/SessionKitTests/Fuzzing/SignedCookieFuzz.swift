@testable import SessionKit

/// Fuzz target `signed_cookie`: ``SignedSessionSerializer`` decoding (`unsign`, then the JSON
/// payload) and the decode path of ``SignedCookieSessionInterface`` (`CookieSessionInterface.decode`).
///
/// Input: byte 0 picks the hash algorithm (value mod 3: SHA-256, SHA-384, SHA-512); the rest
/// is the cookie value.
///
/// Checks:
/// - the input is accepted only if it is byte for byte what the encoder produces for the
///   decoded payload with the secret that verified it; the interface opens a session from it
///   only then, and with the payload's state;
/// - a session derived from the input (its bytes as a string value, lengths as numbers) is
///   encoded, decodes to the same state through the serializer and the interface, and every
///   one of a set of single-byte changes of that cookie chosen by the input (and a cookie one
///   character shorter or longer) is refused by both; a cookie signed with the old secret is
///   accepted and flagged for re-issue; one signed with an unknown secret is refused.
enum SignedCookieFuzz {
    static let secrets = [
        "current-secret-for-fuzzing-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "previous-secret-for-fuzzing-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvuts",
    ]
    static let unknownSecret = "unknown-secret-for-fuzzing-0123456789abcdefghijklmnopqrstuvwxyz"
    /// A fixed clock (2025-06-15), so timestamps in seeds stay valid.
    static let now: Double = 1_750_000_000

    struct Setup {
        let serializer: SignedSessionSerializer
        let previousOnly: SignedSessionSerializer
        let unknown: SignedSessionSerializer
        let interface: SignedCookieSessionInterface
    }

    static let setups: [Setup] = SignedSessionSerializer.HashAlgorithm.allCases.map { algorithm in
        Setup(
            serializer: try! SignedSessionSerializer(secrets: secrets, hashAlgorithm: algorithm),
            previousOnly: try! SignedSessionSerializer(secrets: [secrets[1]], hashAlgorithm: algorithm),
            unknown: try! SignedSessionSerializer(secrets: [unknownSecret], hashAlgorithm: algorithm),
            interface: try! SignedCookieSessionInterface(
                secrets: secrets, hashAlgorithm: algorithm, clock: SessionClock { now }))
    }

    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        guard let control = data.first else { return }
        let setup = setups[Int(control % 3)]
        let cookie = Array(data.dropFirst())
        try checkDecode(cookie, setup)

        // A session derived from the input, encoded, decoded and tampered with.
        let text = String(decoding: cookie.prefix(300), as: UTF8.self)
        let state: [String: SessionValue] = [
            "text": .string(text), "count": .int(cookie.count), "items": .array(cookie.prefix(8).map { .int(Int($0)) }),
        ]
        let created = now - Double(control) * 17.5
        let payload: SessionValue = .array([.int(Int(now) - Int(control)), .double(created), .object(state)])
        let encoded: [UInt8]
        do { encoded = try setup.serializer.serialize(payload) } catch {
            throw FuzzViolation(description: "serialize failed: \(error)")
        }
        try fuzzCheck(encoded.allSatisfy(CookieSessionInterface.isCookieOctet), "signed value has non-cookie characters: \(fuzzDescribe(encoded))")
        let decoded = try? setup.serializer.deserialize(encoded)
        try fuzzCheck(decoded == payload, "round trip changed the payload: \(String(describing: decoded)) != \(payload)")
        let session = setup.interface.base.decode(String(decoding: encoded, as: UTF8.self), now: now)
        try fuzzCheck(session?.data == state, "interface did not open the encoded session: \(String(describing: session?.data))")
        try fuzzCheck(session?.state.withLock { $0.needsReissue } == false, "current-secret cookie flagged for re-issue")

        let seed = cookie.count > 2 ? Int(cookie[1]) << 8 | Int(cookie[2]) : Int(control)
        var mutations: [[UInt8]] = [Array(encoded.dropLast()), encoded + [UInt8(ascii: "A")], encoded + [UInt8(ascii: "=")]]
        for k in 0..<4 {
            var changed = encoded
            let index = (seed &* 31 &+ k &* 977) % changed.count
            let xor = cookie.isEmpty ? UInt8(k + 1) : cookie[(k + seed) % cookie.count] | 1
            changed[index] ^= xor
            mutations.append(changed)
        }
        for changed in mutations {
            try fuzzCheck((try? setup.serializer.unsign(changed)) == nil, "changed cookie \(fuzzDescribe(changed)) accepted (original \(fuzzDescribe(encoded)))")
            try fuzzCheck(
                setup.interface.base.decode(String(decoding: changed, as: UTF8.self), now: now) == nil,
                "interface opened a session from changed cookie \(fuzzDescribe(changed))")
        }

        // Key rotation: the previous secret verifies (index 1); an unknown one does not.
        let old = setup.previousOnly.sign(Array("[1, 2.0, {}]".utf8))
        let verified = try? setup.serializer.unsign(old)
        try fuzzCheck(verified?.secretIndex == 1, "cookie signed with the previous secret not verified as such: \(String(describing: verified))")
        let rotated = setup.interface.base.decode(String(decoding: setup.previousOnly.sign(Array(try! JSONSessionSerializer().serialize(payload))), as: UTF8.self), now: now)
        try fuzzCheck(rotated?.state.withLock { $0.needsReissue } == true, "previous-secret cookie not flagged for re-issue")
        let foreign = setup.unknown.sign(Array(try! JSONSessionSerializer().serialize(payload)))
        try fuzzCheck((try? setup.serializer.unsign(foreign)) == nil, "cookie signed with an unknown secret accepted")
    }

    /// The input as a cookie: accepted only when it is exactly the encoder's output.
    static func checkDecode(_ cookie: [UInt8], _ setup: Setup) throws(FuzzViolation) {
        var unsigned: (payload: [UInt8], secretIndex: Int)?
        do {
            unsigned = try setup.serializer.unsign(cookie)
        } catch {
            let code = (error as? SessionError)?.code
            try fuzzCheck(code == .malformedData || code == .invalidSignature, "unsign threw \(error)")
        }
        if let unsigned {
            let signer = unsigned.secretIndex == 0 ? setup.serializer : setup.previousOnly
            try fuzzCheck(signer.sign(unsigned.payload) == cookie, "accepted cookie \(fuzzDescribe(cookie)) is not what the encoder produces")
        }
        let session = setup.interface.base.decode(String(decoding: cookie, as: UTF8.self), now: now)
        guard let session else { return }
        try fuzzCheck(unsigned != nil && String(validating: cookie, as: UTF8.self) != nil, "interface opened a session from a cookie that does not verify")
        let payload = try? JSON.decode(unsigned!.payload)
        guard case .array(let parts)? = payload, parts.count == 3, case .object(let state) = parts[2] else {
            throw FuzzViolation(description: "interface opened a session from a payload that is not [accessed, created, {state}]")
        }
        try fuzzCheck(session.data == state, "opened session's data differs from the payload's state")
    }
}
