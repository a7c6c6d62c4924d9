import SessionKitCrypto

/// PASETO version 4, purpose `local`: authenticated symmetric encryption with XChaCha20 and
/// keyed BLAKE2b (encrypt-then-MAC), as the PASETO specification defines it.
///
/// Token: `v4.local.` + base64url(n || c || t), plus `.` + base64url(footer) when there is a
/// footer, without padding, where n is a 32-byte random nonce,
/// `Ek || n2 = BLAKE2b-448(key: K, "paseto-encryption-key" || n)`,
/// `Ak = BLAKE2b-256(key: K, "paseto-auth-key-for-aead" || n)`, `c = XChaCha20(m, Ek, n2)` and
/// `t = BLAKE2b-256(key: Ak, PAE(h, n, c, footer, implicit assertion))`.
///
/// Decryption checks the header, the footer and the encoding, then the tag of every key in
/// constant time, and only then decrypts: nothing of the plaintext is looked at before it is
/// authenticated.
enum PASETOv4Local {
    /// `v4.local.`
    static let header: [UInt8] = Array("v4.local.".utf8)
    static let keyByteCount = 32
    static let nonceByteCount = 32
    static let tagByteCount = 32
    static let encryptionKeyInfo: [UInt8] = Array("paseto-encryption-key".utf8)
    static let authenticationKeyInfo: [UInt8] = Array("paseto-auth-key-for-aead".utf8)

    /// A 32-byte key with its two keyed BLAKE2b states prepared (the key block and the
    /// domain-separation string absorbed), so that each token starts from copies.
    ///
    /// A class: the two states are some 450 bytes, which a struct would copy wherever a key
    /// is passed or captured.
    final class Key: Sendable {
        let bytes: [UInt8]
        let encryption: BLAKE2b
        let authentication: BLAKE2b

        /// - Precondition: `bytes` is 32 bytes long.
        init(_ bytes: [UInt8]) {
            precondition(bytes.count == PASETOv4Local.keyByteCount, "a v4.local key is 32 bytes")
            self.bytes = bytes
            var encryption = BLAKE2b(key: bytes, outputByteCount: 56)
            encryption.update(data: PASETOv4Local.encryptionKeyInfo)
            var authentication = BLAKE2b(key: bytes, outputByteCount: 32)
            authentication.update(data: PASETOv4Local.authenticationKeyInfo)
            self.encryption = encryption
            self.authentication = authentication
        }

        /// Calls `body` with `Ek` (32 bytes) and `n2` (24 bytes) for nonce `n`, kept on the
        /// stack.
        func withEncryptionKeyAndNonce<R>(
            _ nonce: UnsafeRawBufferPointer, _ body: (_ key: UnsafeRawBufferPointer, _ nonce: UnsafeRawBufferPointer) -> R
        ) -> R {
            var hasher = encryption
            hasher.update(bufferPointer: nonce)
            var derived: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &derived) { derived in
                hasher.finalize(into: derived)
                let bytes = UnsafeRawBufferPointer(derived)
                return body(UnsafeRawBufferPointer(rebasing: bytes[..<32]), UnsafeRawBufferPointer(rebasing: bytes[32..<56]))
            }
        }

        /// Writes the tag (32 bytes) of a token with nonce `n`, ciphertext `c`, footer `f` and
        /// implicit assertion `i` to `output`.
        func tag(
            nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, footer: UnsafeRawBufferPointer,
            implicitAssertion: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
        ) {
            var hasher = authentication
            hasher.update(bufferPointer: nonce)
            var ak: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var mac = withUnsafeMutableBytes(of: &ak) { ak in
                hasher.finalize(into: ak)
                return BLAKE2b(key: UnsafeRawBufferPointer(ak), outputByteCount: 32)
            }
            PASETOv4Local.header.withUnsafeBytes { h in
                PASETOv4Local.absorbPAE([h, nonce, ciphertext, footer, implicitAssertion], into: &mac)
            }
            mac.finalize(into: output)
        }
    }

    /// Why a token was refused; the first three are found before any key is used.
    enum Failure: Error, Equatable {
        /// The token does not start with `v4.local.`.
        case header
        /// The token's footer is not the expected one.
        case footer
        /// Not canonical unpadded base64url, or too short for a nonce and a tag.
        case encoding(String)
        /// No key's tag matches: tampered, truncated, made with another key or for another
        /// implicit assertion.
        case authentication
    }

    // MARK: PAE

    /// Pre-authentication encoding: the number of pieces, then each piece's length, as
    /// little-endian 64-bit integers with the top bit clear, each followed by the piece.
    static func pae(_ pieces: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        func le64(_ n: Int) {
            let value = UInt64(n) & 0x7FFF_FFFF_FFFF_FFFF
            for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
        }
        le64(pieces.count)
        for piece in pieces {
            le64(piece.count)
            out.append(contentsOf: piece)
        }
        return out
    }

    /// Feeds PAE(`pieces`) to `hasher` without building it.
    static func absorbPAE(_ pieces: [UnsafeRawBufferPointer], into hasher: inout BLAKE2b) {
        func le64(_ n: Int) {
            withUnsafeBytes(of: (UInt64(n) & 0x7FFF_FFFF_FFFF_FFFF).littleEndian) { hasher.update(bufferPointer: $0) }
        }
        le64(pieces.count)
        for piece in pieces {
            le64(piece.count)
            if !piece.isEmpty { hasher.update(bufferPointer: piece) }
        }
    }

    // MARK: Encryption

    /// Encrypts `message` with a fresh random nonce and returns the token's ASCII bytes.
    ///
    /// The nonce comes from the process's ``SecureRandomPool``: operating-system random bytes
    /// fetched 4 KiB at a time, each handed out once, never to a forked child as well.
    ///
    /// - Throws: ``SecureRandomError`` when the operating system gives no random bytes.
    static func encrypt(
        _ message: UnsafeRawBufferPointer, key: Key, footer: [UInt8] = [], implicitAssertion: UnsafeRawBufferPointer
    ) throws(SecureRandomError) -> [UInt8] {
        var nonce: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let failure: SecureRandomError? = withUnsafeMutableBytes(of: &nonce) { raw in
            do throws(SecureRandomError) {
                try SecureRandomPool.shared.fill(raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return withUnsafeBytes(of: nonce) { encrypt(message, key: key, nonce: $0, footer: footer, implicitAssertion: implicitAssertion) }
    }

    /// Encrypts `message` with the given 32-byte nonce. Only for test vectors and checks:
    /// a nonce must never be used twice with one key.
    static func encrypt(
        _ message: UnsafeRawBufferPointer, key: Key, nonce: UnsafeRawBufferPointer, footer: [UInt8] = [],
        implicitAssertion: UnsafeRawBufferPointer
    ) -> [UInt8] {
        precondition(nonce.count == nonceByteCount, "a v4.local nonce is 32 bytes")
        // n || c || t in one buffer: the ciphertext and the tag are written in place.
        let bodyCount = nonceByteCount + message.count + tagByteCount
        return withUnsafeTemporaryAllocation(byteCount: bodyCount, alignment: 16) { body in
            let base = body.baseAddress!
            body.copyMemory(from: nonce)
            key.withEncryptionKeyAndNonce(nonce) { ek, n2 in XChaCha20.xor(message, key: ek, nonce: n2, into: base + nonceByteCount) }
            let ciphertext = UnsafeRawBufferPointer(rebasing: body[nonceByteCount..<(nonceByteCount + message.count)])
            footer.withUnsafeBytes { f in
                key.tag(
                    nonce: nonce, ciphertext: ciphertext, footer: f, implicitAssertion: implicitAssertion,
                    into: UnsafeMutableRawBufferPointer(rebasing: body[(nonceByteCount + message.count)...]))
            }
            // header || base64url(n || c || t) [|| "." || base64url(f)], written once.
            let length = header.count + Base64URL.encodedLength(of: bodyCount)
                + (footer.isEmpty ? 0 : 1 + Base64URL.encodedLength(of: footer.count))
            return withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { out in
                header.withUnsafeBytes { out.copyMemory(from: $0) }
                var written = header.count
                written += Base64URL.encode(bytes: UnsafeRawBufferPointer(body), into: UnsafeMutableRawBufferPointer(rebasing: out[written...]))
                if !footer.isEmpty {
                    out[written] = UInt8(ascii: ".")
                    written += 1
                    written += footer.withUnsafeBytes { Base64URL.encode(bytes: $0, into: UnsafeMutableRawBufferPointer(rebasing: out[written...])) }
                }
                return JSONBuffer.array(UnsafeRawBufferPointer(rebasing: out[..<written]))
            }
        }
    }

    // MARK: Decryption

    /// Authenticates and decrypts a token with the first of `keys` whose tag matches, and
    /// returns the message and that key's index.
    ///
    /// Every key's tag is computed and compared in constant time, whichever matches, so the
    /// time taken does not tell which key (if any) did.
    ///
    /// - Throws: ``Failure``: `.header` for a token that does not start with `v4.local.`,
    ///   `.footer` when its footer is not `footer` (a token without a footer has the empty
    ///   one), `.encoding` for a body that is not canonical unpadded base64url or is too
    ///   short, `.authentication` when no key's tag matches.
    static func decrypt(
        _ token: UnsafeRawBufferPointer, keys: [Key], footer expectedFooter: [UInt8] = [], implicitAssertion: UnsafeRawBufferPointer
    ) throws(Failure) -> (message: [UInt8], keyIndex: Int) {
        let h = header.count
        guard token.count >= h, header.withUnsafeBytes({ ConstantTime.isEqual(UnsafeRawBufferPointer(rebasing: token[..<h]), $0) }) else {
            throw .header
        }
        // The body ends at the first '.' after the header; what follows is the footer.
        let rest = UnsafeRawBufferPointer(rebasing: token[h...])
        var dot: Int?
        for i in 0..<rest.count where rest[i] == UInt8(ascii: ".") {
            dot = i
            break
        }
        let bodyText = UnsafeRawBufferPointer(rebasing: rest[..<(dot ?? rest.count)])
        if let dot {
            let footerText = UnsafeRawBufferPointer(rebasing: rest[(dot + 1)...])
            guard !expectedFooter.isEmpty, let decoded = Base64URL.decode(bytes: footerText), decoded.isCanonical,
                decoded.bytes == expectedFooter
            else { throw .footer }
        } else if !expectedFooter.isEmpty {
            throw .footer
        }
        guard let decodedCount = Base64URL.decodedCount(of: bodyText) else {
            throw .encoding("the token's body is not base64url text")
        }
        return try withUnsafeTemporaryAllocation(byteCount: Swift.max(decodedCount, 1), alignment: 8) { (buffer) throws(Failure) in
            guard let decoded = Base64URL.decode(bytes: bodyText, into: buffer) else {
                throw .encoding("the token's body is not base64url text")
            }
            guard decoded.isCanonical else {
                throw .encoding("the token's body is not in canonical form (padding or trailing bits were changed)")
            }
            guard decoded.count >= nonceByteCount + tagByteCount else {
                throw .encoding("the token's body is \(decoded.count) bytes, shorter than a nonce and a tag (64)")
            }
            let raw = UnsafeRawBufferPointer(rebasing: buffer[..<decoded.count])
            let nonce = UnsafeRawBufferPointer(rebasing: raw[..<nonceByteCount])
            let ciphertext = UnsafeRawBufferPointer(rebasing: raw[nonceByteCount..<(decoded.count - tagByteCount)])
            let tag = UnsafeRawBufferPointer(rebasing: raw[(decoded.count - tagByteCount)...])
            var found: Int?
            var expected: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &expected) { expected in
                expectedFooter.withUnsafeBytes { footer in
                    for (i, key) in keys.enumerated() {
                        key.tag(nonce: nonce, ciphertext: ciphertext, footer: footer, implicitAssertion: implicitAssertion, into: expected)
                        if ConstantTime.isEqual(tag, UnsafeRawBufferPointer(expected)) && found == nil { found = i }
                    }
                }
            }
            guard let index = found else { throw .authentication }
            // Decrypted in place, in this function's own buffer.
            let plaintext = UnsafeMutableRawBufferPointer(rebasing: buffer[nonceByteCount..<(decoded.count - tagByteCount)])
            keys[index].withEncryptionKeyAndNonce(nonce) { ek, n2 in XChaCha20.xor(ciphertext, key: ek, nonce: n2, into: plaintext.baseAddress!) }
            return (JSONBuffer.array(UnsafeRawBufferPointer(plaintext)), index)
        }
    }
}
