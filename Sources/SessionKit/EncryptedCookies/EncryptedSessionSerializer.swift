import SessionKitCrypto

/// The cookie value of ``EncryptedCookieSessionInterface``: the session as the JSON claims
/// of a PASETO v4.local token, bound to the cookie's name as implicit assertion.
///
/// It serializes what ``CookieSessionInterface`` hands every serializer,
/// `[accessed, created, {state}]`, as one JSON object: the state's members, plus `iat`
/// (`accessed`) and `exp` as PASETO's registered date-time claims, and
/// ``Session/createdKey`` (`created`, a number). Deserializing gives the same array back, the
/// claims taken out of the state.
struct EncryptedSessionSerializer: SessionSerializer {
    /// Claims that SessionKit writes itself; a session may not hold values under them.
    static let reservedKeys: Set<String> = ["iat", "exp"]

    let keys: [PASETOv4Local.Key]
    /// The implicit assertion: the cookie name's UTF-8 bytes.
    let implicitAssertion: [UInt8]
    let timeout: Int?
    let absoluteLifetime: Int?

    /// Why a token was refused.
    struct Rejection: Error {
        let reason: CookieRejection.Reason
        let message: String
    }

    init(keys: [[UInt8]], cookieName: String, timeout: Int?, absoluteLifetime: Int?) {
        self.keys = keys.map(PASETOv4Local.Key.init)
        self.implicitAssertion = Array(cookieName.utf8)
        self.timeout = timeout
        self.absoluteLifetime = absoluteLifetime
    }

    // MARK: Writing

    func serialize(_ value: SessionValue) throws -> [UInt8] {
        guard case .array(let parts) = value, parts.count == 3, let accessed = parts[0].doubleValue,
            let created = parts[1].doubleValue, case .object(let state) = parts[2]
        else {
            throw SessionError(.encodingFailed, "an encrypted cookie holds [accessed, created, {state}]; this value is not of that shape")
        }
        return try withClaims(state, accessed: Int(accessed.rounded(.down)), created: created) { (payload) throws(SessionError) in
            try encrypt(payload)
        }
    }

    /// The expiry written as `exp`: the earlier of the idle timeout after this issue and the
    /// end of the absolute lifetime, in whole seconds (rounded down); `nil` when neither is set.
    func expiry(accessed: Int, created: Double) -> Int? {
        let idle = timeout.map { accessed + $0 }
        let end = absoluteLifetime.map { Int((created + Double($0)).rounded(.down)) }
        switch (idle, end) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    /// The token's JSON payload.
    func claims(_ state: [String: SessionValue], accessed: Int, created: Double) throws(SessionError) -> [UInt8] {
        try withClaims(state, accessed: accessed, created: created) { JSONBuffer.array($0) }
    }

    /// Calls `body` with the token's JSON payload, written in scratch memory on the stack.
    func withClaims<R>(
        _ state: [String: SessionValue], accessed: Int, created: Double, _ body: (UnsafeRawBufferPointer) throws(SessionError) -> R
    ) throws(SessionError) -> R {
        if state["iat"] != nil || state["exp"] != nil, let key = state.keys.first(where: Self.reservedKeys.contains) {
            throw SessionError(
                .encodingFailed,
                "the session holds a value under \"\(key)\", which encrypted cookies reserve for the PASETO claim of that name; store it under another key")
        }
        return try JSONBuffer.withScratch(1024) { (out) throws(SessionError) in
            out.append(#"{"iat":""#)
            Self.appendTime(accessed, to: &out)
            if let exp = expiry(accessed: accessed, created: created) {
                out.append(#"","exp":""#)
                Self.appendTime(exp, to: &out)
            }
            out.append(#"","_sk_created":"#)
            try JSON.write(.double(created), into: &out)
            for (key, value) in state where key != Session.createdKey {
                out.reserve(1)
                out.put(UInt8(ascii: ","))
                JSON.writeString(key, into: &out)
                out.reserve(1)
                out.put(UInt8(ascii: ":"))
                try JSON.write(value, into: &out)
            }
            out.reserve(1)
            out.put(UInt8(ascii: "}"))
            return try body(out.bytes)
        }
    }

    /// Appends a claim time's text.
    private static func appendTime(_ seconds: Int, to out: inout JSONBuffer) {
        out.write(reserving: ClaimTime.textLength) { end in
            ClaimTime.write(seconds, to: end)
            return ClaimTime.textLength
        }
    }

    /// Encrypts a payload with the current (first) key.
    func encrypt(_ payload: UnsafeRawBufferPointer) throws(SessionError) -> [UInt8] {
        let token = implicitAssertion.withUnsafeBytes { i in
            Result { () throws(SecureRandomError) in try PASETOv4Local.encrypt(payload, key: keys[0], implicitAssertion: i) }
        }
        switch token {
        case .success(let token): return token
        case .failure(let error): throw SessionError(.encodingFailed, "cannot make a nonce for the encrypted cookie: \(error)")
        }
    }

    // MARK: Reading

    func deserialize(_ bytes: [UInt8]) throws -> SessionValue {
        let opened = bytes.withUnsafeBytes { text in Result { () throws(Rejection) in try open(text).value } }
        switch opened {
        case .success(let value): return value
        case .failure(let error): throw SessionError(error.reason == .malformedPayload ? .malformedData : .invalidSignature, error.message)
        }
    }

    /// Decrypts a token and parses its claims: `[iat, created, {state}]`, the index of the key
    /// that decrypted it, and `exp` when the token has one.
    func open(_ text: UnsafeRawBufferPointer) throws(Rejection) -> (value: SessionValue, keyIndex: Int, expires: Double?) {
        let decrypted = implicitAssertion.withUnsafeBytes { i in
            Result { () throws(PASETOv4Local.Failure) in try PASETOv4Local.decrypt(text, keys: keys, implicitAssertion: i) }
        }
        let message: [UInt8]
        let keyIndex: Int
        switch decrypted {
        case .success(let result): (message, keyIndex) = result
        case .failure(let error):
            switch error {
            case .header:
                throw Rejection(reason: .unsupportedToken, message: "the cookie is not a PASETO v4.local token (its header is not \"v4.local.\")")
            case .footer:
                throw Rejection(reason: .unexpectedFooter, message: "the token has a footer; SessionKit's encrypted cookies have none")
            case .encoding(let message):
                throw Rejection(reason: .malformed, message: message)
            case .authentication:
                throw Rejection(
                    reason: .decryptionFailed,
                    message: "the token's tag matches no key: it was tampered with, truncated, encrypted with another key, or made for another cookie name")
            }
        }
        return try Self.parseClaims(message, keyIndex: keyIndex)
    }

    /// The session in a decrypted payload.
    static func parseClaims(_ message: [UInt8], keyIndex: Int) throws(Rejection) -> (value: SessionValue, keyIndex: Int, expires: Double?) {
        func malformed(_ why: String) -> Rejection { Rejection(reason: .malformedPayload, message: why) }
        let value: SessionValue
        do {
            value = try JSON.decode(message)
        } catch {
            throw malformed("the decrypted payload is not JSON: \((error as? SessionError)?.message ?? "\(error)")")
        }
        guard case .object(var state) = value else { throw malformed("the decrypted payload is not a JSON object") }
        guard let iatText = state.removeValue(forKey: "iat")?.stringValue, let iat = ClaimTime.parse(iatText) else {
            throw malformed("the payload has no \"iat\" claim with an RFC 3339 date-time")
        }
        var expires: Double?
        if let exp = state.removeValue(forKey: "exp") {
            guard let text = exp.stringValue, let time = ClaimTime.parse(text) else {
                throw malformed("the payload's \"exp\" claim is not an RFC 3339 date-time")
            }
            expires = time
        }
        var created = iat
        if let value = state.removeValue(forKey: Session.createdKey) {
            guard let time = value.doubleValue else { throw malformed("the payload's \"\(Session.createdKey)\" is not a number") }
            created = time
        }
        return (.array([.double(iat), .double(created), .object(state)]), keyIndex, expires)
    }
}
