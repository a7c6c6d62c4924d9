import SessionKitCrypto

/// Signs another serializer's output with HMAC, as webob's `SignedSerializer` does for
/// pyramid's `SignedCookieSessionFactory`; the output is cookie-safe text.
///
/// Format: `base64url(HMAC(salt + secret, payload) || payload)` with the trailing `=`
/// removed. Verification checks the MAC over the exact bytes received, in constant time,
/// before the payload is parsed.
///
/// Several secrets may be given for key rotation: the first signs, every one verifies.
/// Decoding rejects (with a ``SessionError``) anything but the canonical unpadded encoding:
/// characters outside the base64url alphabet, `=` padding, non-zero trailing bits, a value
/// shorter than a MAC, and a MAC that matches no secret.
public struct SignedSessionSerializer: SessionSerializer {
    /// The HMAC hash function.
    public enum HashAlgorithm: String, Sendable, Hashable, CaseIterable {
        /// HMAC-SHA-256 (32-byte MAC).
        case sha256
        /// HMAC-SHA-384 (48-byte MAC).
        case sha384
        /// HMAC-SHA-512 (64-byte MAC), pyramid's default.
        case sha512

        /// The MAC length in bytes.
        public var macByteCount: Int {
            switch self {
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }
    }

    /// A secret prepared for one algorithm.
    enum Signer: Sendable {
        case sha256(HMACKey<SHA256>)
        case sha384(HMACKey<SHA384>)
        case sha512(HMACKey<SHA512>)

        init(_ algorithm: HashAlgorithm, key: [UInt8]) {
            self = key.withUnsafeBytes { raw in
                switch algorithm {
                case .sha256: .sha256(HMACKey(keyBytes: raw))
                case .sha384: .sha384(HMACKey(keyBytes: raw))
                case .sha512: .sha512(HMACKey(keyBytes: raw))
                }
            }
        }

        /// Writes the MAC of `payload` to `out`, which has room for it.
        func sign(_ payload: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) {
            switch self {
            case .sha256(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            case .sha384(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            case .sha512(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
        }

        func verify(_ mac: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Bool {
            switch self {
            case .sha256(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { ConstantTime.isEqual(mac, $0) }
            case .sha384(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { ConstantTime.isEqual(mac, $0) }
            case .sha512(let k): k.authenticationCode(bufferPointer: payload).withUnsafeBytes { ConstantTime.isEqual(mac, $0) }
            }
        }
    }

    /// The serializer whose output is signed.
    public let serializer: any SessionSerializer
    /// The HMAC hash function.
    public let hashAlgorithm: HashAlgorithm
    /// The shortest secret accepted without `allowShortSecrets`, in bytes (UTF-8).
    public static let minimumSecretLength = 32

    /// The salt, prepended to each secret to form the HMAC key.
    public let salt: String
    let signers: [Signer]
    /// True when `serializer` is a ``JSONSessionSerializer``: its output is then written
    /// straight after the MAC and parsed straight from the decoded bytes.
    let writesPythonJSON: Bool

    /// Creates a signing serializer.
    ///
    /// - Parameters:
    ///   - secrets: one or more secrets; the first signs, all verify (key rotation). Each
    ///     should be at least as long as the hash's block size (128 bytes for SHA-512 is
    ///     ideal; 64 random characters is pyramid's advice).
    ///   - salt: namespace for the secret; pyramid's default is `"pyramid.session."`.
    ///   - hashAlgorithm: `.sha512` (default), `.sha384` or `.sha256`.
    ///   - serializer: the payload serializer, ``JSONSessionSerializer`` by default.
    ///   - allowShortSecrets: accept secrets shorter than ``minimumSecretLength`` bytes. Only
    ///     for keeping an existing Pyramid application's secret while sharing its cookies; a
    ///     new secret should be long and random.
    /// - Throws: ``SessionError`` (`invalidConfiguration`) when no secret is given, a secret is
    ///   empty, or a secret is shorter than ``minimumSecretLength`` bytes (UTF-8) and
    ///   `allowShortSecrets` is `false`.
    public init(
        secrets: [String], salt: String = "pyramid.session.", hashAlgorithm: HashAlgorithm = .sha512,
        serializer: any SessionSerializer = JSONSessionSerializer(), allowShortSecrets: Bool = false
    ) throws {
        guard !secrets.isEmpty else {
            throw SessionError(.invalidConfiguration, "a signed serializer needs at least one secret; pass secrets: [yourSecret]")
        }
        if secrets.contains(where: \.isEmpty) {
            throw SessionError(.invalidConfiguration, "a signing secret is empty; use a long random secret (64 characters or more)")
        }
        if !allowShortSecrets, let index = secrets.firstIndex(where: { $0.utf8.count < Self.minimumSecretLength }) {
            let position = secrets.count == 1 ? "the signing secret" : "secret number \(index + 1) of \(secrets.count)"
            throw SessionError(.invalidConfiguration, "\(position) is \(secrets[index].utf8.count) bytes, shorter than \(Self.minimumSecretLength): a short secret can be guessed offline from one cookie. Use a long random secret (64 characters or more); to keep an existing Pyramid application's secret, pass allowShortSecrets: true")
        }
        self.serializer = serializer
        self.writesPythonJSON = serializer is JSONSessionSerializer
        self.hashAlgorithm = hashAlgorithm
        self.salt = salt
        // webob: salted_secret = bytes_(salt) + bytes_(secret) (UTF-8 when not Latin-1).
        self.signers = secrets.map { Signer(hashAlgorithm, key: Self.keyBytes(salt: salt, secret: $0)) }
    }

    /// webob encodes salt and secret as Latin-1 when it can, and as UTF-8 otherwise.
    static func keyBytes(salt: String, secret: String) -> [UInt8] {
        let text = salt + secret
        if text.unicodeScalars.allSatisfy({ $0.value < 256 }) {
            return text.unicodeScalars.map { UInt8($0.value) }
        }
        return Array(salt.utf8) + Array(secret.utf8)
    }

    public func serialize(_ value: SessionValue) throws -> [UInt8] {
        guard writesPythonJSON else { return sign(try serializer.serialize(value)) }
        let macCount = hashAlgorithm.macByteCount
        // Room on the stack for the MAC, the JSON and the base64url text of a cookie of up to
        // the browsers' 4096 bytes; larger values move to the heap.
        return try JSONBuffer.withScratch(6144) { (buffer) throws(SessionError) in
            buffer.appendZeros(macCount)
            try PythonJSONWriter.write(value, into: &buffer)
            return Self.signed(&buffer, macCount: macCount, signer: signers[0])
        }
    }

    public func deserialize(_ bytes: [UInt8]) throws -> SessionValue {
        try bytes.withUnsafeBytes { text in
            try withVerifiedPayload(text) { payload, _ in try parse(payload) }
        }
    }

    /// Verifies signed text and parses its payload, returning the value and the index of the
    /// secret that verified it; throws as ``unsign(_:)`` and the payload serializer do.
    func open(_ text: UnsafeRawBufferPointer) throws -> (value: SessionValue, secretIndex: Int) {
        try withVerifiedPayload(text) { payload, index in (try parse(payload), index) }
    }

    /// Parses a verified payload with the payload serializer.
    func parse(_ payload: UnsafeRawBufferPointer) throws -> SessionValue {
        writesPythonJSON ? try JSON.decode(buffer: payload) : try serializer.deserialize(Array(payload))
    }

    /// Signs `payload` and returns the cookie-safe text as bytes.
    public func sign(_ payload: [UInt8]) -> [UInt8] {
        let macCount = hashAlgorithm.macByteCount
        var buffer = JSONBuffer(capacity: macCount + payload.count)
        buffer.appendZeros(macCount)
        payload.withUnsafeBytes { buffer.append($0) }
        return Self.signed(&buffer, macCount: macCount, signer: signers[0])
    }

    /// Fills the first `macCount` bytes of `buffer` with the MAC of the rest and returns the
    /// base64url text of the whole.
    static func signed(_ buffer: inout JSONBuffer, macCount: Int, signer: Signer) -> [UInt8] {
        let signedCount = buffer.count
        let all = buffer.mutableBytes
        signer.sign(UnsafeRawBufferPointer(rebasing: all[macCount...]), to: all.baseAddress!)
        // The text is written after the bytes in the same buffer, then copied out once.
        let length = Base64URL.encodedLength(of: signedCount)
        buffer.write(reserving: length) { end in
            Base64URL.encode(bytes: UnsafeRawBufferPointer(start: end - signedCount, count: signedCount), into: UnsafeMutableRawBufferPointer(start: end, count: length))
        }
        return JSONBuffer.array(UnsafeRawBufferPointer(rebasing: buffer.bytes[signedCount...]))
    }

    /// Verifies signed text and returns the payload and the index of the secret that
    /// verified it (0 is the current secret).
    ///
    /// - Throws: ``SessionError`` with code `malformedData` for text that is not canonical
    ///   unpadded base64url or is too short, `invalidSignature` when no secret verifies it.
    public func unsign(_ bytes: [UInt8]) throws -> (payload: [UInt8], secretIndex: Int) {
        try bytes.withUnsafeBytes { text in
            try withVerifiedPayload(text) { payload, index in (Array(payload), index) }
        }
    }

    /// Decodes and verifies signed text, then calls `body` with the payload (valid only
    /// during the call) and the index of the secret that verified it.
    func withVerifiedPayload<Result>(
        _ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int) throws -> Result
    ) throws -> Result {
        guard let decodedCount = Base64URL.decodedCount(of: text) else {
            throw SessionError(.malformedData, "the signed value is not base64url text")
        }
        return try withUnsafeTemporaryAllocation(byteCount: Swift.max(decodedCount, 1), alignment: 8) { buffer in
            guard let decoded = Base64URL.decode(bytes: text, into: buffer) else {
                throw SessionError(.malformedData, "the signed value is not base64url text")
            }
            guard decoded.isCanonical else {
                throw SessionError(.malformedData, "the signed value is not in canonical form (padding or trailing bits were changed)")
            }
            let macCount = hashAlgorithm.macByteCount
            guard decoded.count >= macCount else {
                throw SessionError(.malformedData, "the signed value is \(decoded.count) bytes, shorter than a \(macCount)-byte signature")
            }
            let raw = UnsafeRawBufferPointer(rebasing: buffer[..<decoded.count])
            let mac = UnsafeRawBufferPointer(rebasing: raw[..<macCount])
            let payload = UnsafeRawBufferPointer(rebasing: raw[macCount...])
            var found: Int?
            // Every secret is tried, so the time taken does not reveal which one matched.
            for (i, signer) in signers.enumerated() where signer.verify(mac, payload) && found == nil {
                found = i
            }
            guard let index = found else {
                throw SessionError(.invalidSignature, "the signature does not match: the value was tampered with, truncated, or signed with another secret")
            }
            return try body(payload, index)
        }
    }
}
