import SessionKitCrypto
import Synchronization

@testable import SessionKit

/// Fuzz target `encrypted_cookie`: the PASETO v4.local token decoder (`PASETOv4Local.decrypt`)
/// and the decode path of ``EncryptedCookieSessionInterface`` (`CookieSessionInterface.decode`).
///
/// Input: byte 0 picks the times and the mutations; the rest is the cookie value.
///
/// Checks:
/// - the input is accepted only if it is byte for byte what the encoder produces for the
///   decrypted payload, with the token's own nonce and the key that decrypted it; the
///   interface opens a session from it only then, with the payload's values; a refused input
///   is reported through `onRejectedCookie` exactly once, with a reason of the token checks or
///   the payload checks;
/// - a session derived from the input, encrypted with a nonce derived from the input, decodes
///   to the same values; every truncation point and bit flip chosen by the input, an appended
///   character, an appended footer, another header and another cookie name are refused; a
///   token of the previous key is accepted and flagged for re-issue, one of an unknown key is
///   refused.
enum EncryptedCookieFuzz {
    static let keys: [[UInt8]] = [Array(0x40..<0x60), Array(0x60..<0x80)]
    static let unknownKey: [UInt8] = Array(repeating: 0xA5, count: 32)
    /// A fixed clock (2025-06-15), so timestamps in seeds stay valid.
    static let now: Double = 1_750_000_000

    final class Log: Sendable {
        let reasons = Mutex<[CookieRejection.Reason]>([])
        func take() -> [CookieRejection.Reason] { reasons.withLock { r in defer { r = [] }; return r } }
    }
    static let log = Log()

    static let interface = try! EncryptedCookieSessionInterface(
        keys: keys, options: CookieSessionConfiguration(onRejectedCookie: { r in log.reasons.withLock { $0.append(r.reason) } }),
        clock: SessionClock { now })
    static let serializer = interface.base.serializer as! EncryptedSessionSerializer
    static let prepared = keys.map(PASETOv4Local.Key.init)
    static let assertion = Array("session".utf8)

    static let tokenReasons: Set<CookieRejection.Reason> = [.unsupportedToken, .unexpectedFooter, .malformed, .decryptionFailed]
    static let payloadReasons: Set<CookieRejection.Reason> = [.malformedPayload, .timedOut, .lifetimeExceeded, .expired]

    static func run(_ data: [UInt8]) throws(FuzzViolation) {
        guard let control = data.first else { return }
        let cookie = Array(data.dropFirst())
        _ = log.take()
        try checkDecode(cookie)

        // A session derived from the input, encrypted with a nonce derived from the input.
        let text = String(decoding: cookie.prefix(300), as: UTF8.self)
        let state: [String: SessionValue] = [
            "text": .string(text), "count": .int(cookie.count), "items": .array(cookie.prefix(8).map { .int(Int($0)) }),
        ]
        let accessed = Int(now) - Int(control)
        let created = now - Double(control) * 17.5
        let nonce = BLAKE2b.hash(data: data, outputByteCount: 32)
        let payload: [UInt8]
        do { payload = try serializer.claims(state, accessed: accessed, created: created) } catch {
            throw FuzzViolation(description: "claims failed: \(error)")
        }
        let token = encrypt(payload, key: prepared[0], nonce: nonce, implicitAssertion: assertion)
        try fuzzCheck(token.allSatisfy(CookieSessionInterface.isCookieOctet), "token has non-cookie characters: \(fuzzDescribe(token))")
        let session = interface.base.decode(String(decoding: token, as: UTF8.self), now: now)
        try fuzzCheck(session?.data == state, "interface did not open the encrypted session: \(String(describing: session?.data))")
        try fuzzCheck(session?.createdAt == created, "creation time changed: \(String(describing: session?.createdAt)) != \(created)")
        try fuzzCheck(session?.state.withLock { $0.needsReissue } == false, "current-key token flagged for re-issue")
        try fuzzCheck(log.take().isEmpty, "a rejection was reported for a good token")

        let seed = cookie.count > 2 ? Int(cookie[1]) << 8 | Int(cookie[2]) : Int(control)
        var mutations: [[UInt8]] = [
            Array(token.prefix(seed % token.count)), token + [UInt8(ascii: "A")], token + Array(".e30".utf8),
            Array("v3.local.".utf8) + token.dropFirst(9), Array("v4.public.".utf8) + token.dropFirst(9),
        ]
        for k in 0..<4 {
            var changed = token
            let bit = (seed &* 31 &+ k &* 977) % (changed.count * 8)
            changed[bit / 8] ^= 1 << (bit % 8)
            mutations.append(changed)
        }
        for changed in mutations {
            try fuzzCheck(
                interface.base.decode(String(decoding: changed, as: UTF8.self), now: now) == nil,
                "interface opened a session from changed token \(fuzzDescribe(changed)) (original \(fuzzDescribe(token)))")
            let reasons = log.take()
            try fuzzCheck(reasons.count == 1 && tokenReasons.contains(reasons[0]), "changed token reported \(reasons)")
        }
        let moved = encrypt(payload, key: prepared[0], nonce: nonce, implicitAssertion: Array("other".utf8))
        try fuzzCheck(interface.base.decode(String(decoding: moved, as: UTF8.self), now: now) == nil, "token of another cookie name accepted")
        try fuzzCheck(log.take() == [.decryptionFailed], "token of another cookie name not refused as decryptionFailed")

        // Key rotation: the previous key decrypts and the cookie is re-issued; an unknown one does not.
        let old = encrypt(payload, key: prepared[1], nonce: nonce, implicitAssertion: assertion)
        let rotated = interface.base.decode(String(decoding: old, as: UTF8.self), now: now)
        try fuzzCheck(rotated?.data == state && rotated?.state.withLock { $0.needsReissue } == true, "previous-key token not opened and flagged for re-issue")
        let foreign = encrypt(payload, key: PASETOv4Local.Key(unknownKey), nonce: nonce, implicitAssertion: assertion)
        try fuzzCheck(interface.base.decode(String(decoding: foreign, as: UTF8.self), now: now) == nil, "token of an unknown key accepted")
        try fuzzCheck(log.take() == [.decryptionFailed], "token of an unknown key not refused as decryptionFailed")
    }

    static func encrypt(_ payload: [UInt8], key: PASETOv4Local.Key, nonce: [UInt8], implicitAssertion: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { m in
            nonce.withUnsafeBytes { n in implicitAssertion.withUnsafeBytes { i in PASETOv4Local.encrypt(m, key: key, nonce: n, implicitAssertion: i) } }
        }
    }

    /// The input as a cookie: accepted only when it is exactly the encoder's output.
    static func checkDecode(_ cookie: [UInt8]) throws(FuzzViolation) {
        let decrypted = cookie.withUnsafeBytes { t in
            assertion.withUnsafeBytes { i in Result { () throws(PASETOv4Local.Failure) in try PASETOv4Local.decrypt(t, keys: prepared, implicitAssertion: i) } }
        }
        if case .success(let (message, index)) = decrypted {
            let body = Base64URL.decode(String(decoding: cookie[9...], as: UTF8.self))
            try fuzzCheck(body?.isCanonical == true, "a token that is not canonical base64url was decrypted")
            let nonce = Array(body!.bytes.prefix(32))
            let again = encrypt(message, key: prepared[index], nonce: nonce, implicitAssertion: assertion)
            try fuzzCheck(again == cookie, "accepted token \(fuzzDescribe(cookie)) is not what the encoder produces")
        }
        let session = interface.base.decode(String(decoding: cookie, as: UTF8.self), now: now)
        let reasons = log.take()
        guard let session else {
            try fuzzCheck(reasons.count == 1, "a refused token reported \(reasons)")
            let tokenRefused = if case .failure = decrypted { true } else { false }
            try fuzzCheck(
                tokenRefused ? tokenReasons.contains(reasons[0]) : payloadReasons.contains(reasons[0]),
                "reason \(reasons[0]) does not fit (token refused: \(tokenRefused))")
            return
        }
        try fuzzCheck(reasons.isEmpty, "an opened session reported \(reasons)")
        guard case .success(let (message, _)) = decrypted, String(validating: cookie, as: UTF8.self) != nil else {
            throw FuzzViolation(description: "interface opened a session from a token that does not decrypt")
        }
        guard case .object(var claims)? = try? JSON.decode(message) else {
            throw FuzzViolation(description: "interface opened a session from a payload that is not a JSON object")
        }
        for key in ["iat", "exp", Session.createdKey] { claims[key] = nil }
        try fuzzCheck(session.data == claims, "opened session's data differs from the payload's claims")
    }
}
