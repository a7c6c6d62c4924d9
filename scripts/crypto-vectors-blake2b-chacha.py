#!/usr/bin/env python3
"""Generates the differential test vectors for BLAKE2b, ChaCha20 and XChaCha20.

Writes Tests/SessionKitCryptoTests/BLAKE2bChaChaVectors.swift. Needs Python 3 with the
`cryptography` package (for ChaCha20); `PyNaCl` is used, when installed, as a second opinion on
XChaCha20. Run from anywhere:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install cryptography pynacl
    /tmp/venv/bin/python scripts/crypto-vectors-blake2b-chacha.py

Inputs come from splitmix64 (the generator of scripts/crypto-vectors.py), seeded per case,
and the Swift tests regenerate them, so only results are stored:

- BLAKE2b, for every output length n in 1...64 and for a keyed and an unkeyed case each
  (seed 1000 * keyed + n): the first output modulo 513 is the message length, the second
  modulo 64 plus 1 the key length (keyed cases only), then the message bytes, then the key
  bytes. Stored: the whole digest from hashlib.blake2b(message, digest_size=n, key=key).
- ChaCha20, cases 0..<300 (seed 2000 + i): the message length (first output modulo 1001),
  the counter (second output modulo 2^32 - 16, so that 1000 bytes never pass 2^32 - 1), then
  32 key bytes, 12 nonce bytes and the message. Stored: SHA-256 of the ciphertext from
  cryptography's ChaCha20, whose 16-byte nonce is the 4-byte little-endian counter followed by
  the 12-byte nonce.
- XChaCha20, cases 0..<300 (seed 3000 + i): as for ChaCha20 but with a 24-byte nonce. The
  ciphertext is cryptography's ChaCha20 keyed with HChaCha20 (computed below, and checked
  against the draft's section 2.2.1 vector) over the nonce 00000000 || nonce[16..<24]. With
  PyNaCl installed, the script also checks its counter-1 ciphertexts against libsodium's
  XChaCha20-Poly1305 (whose ciphertext is XChaCha20 from counter 1).
"""

import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def bytes(self, count):
        out = bytearray()
        while len(out) < count:
            out += self.next().to_bytes(8, "little")
        return bytes(out[:count])


def chacha20(key, nonce12, counter, data):
    nonce16 = struct.pack("<I", counter) + nonce12
    return Cipher(algorithms.ChaCha20(key, nonce16), mode=None).encryptor().update(data)


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha20(key, nonce24, counter, data):
    return chacha20(hchacha20(key, nonce24[:16]), b"\0\0\0\0" + nonce24[16:], counter, data)


def self_check():
    # draft-irtf-cfrg-xchacha-03 section 2.2.1.
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a0000000031415927")
    expected = bytes.fromhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    assert hchacha20(key, nonce) == expected
    try:
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as aead
    except ImportError:
        print("PyNaCl not installed: XChaCha20 not cross-checked against libsodium")
        return
    for i in range(50):
        rng = SplitMix64(9000 + i)
        k, n, m = rng.bytes(32), rng.bytes(24), rng.bytes(rng.next() % 700)
        assert aead(m, None, n, k)[:-16] == xchacha20(k, n, 1, m), i
    print("XChaCha20 agrees with libsodium on 50 cases")


def blake2b_cases():
    lines = []
    for keyed in (0, 1):
        for n in range(1, 65):
            rng = SplitMix64(1000 * keyed + n)
            message_length = rng.next() % 513
            key_length = rng.next() % 64 + 1 if keyed else 0
            message = rng.bytes(message_length)
            key = rng.bytes(key_length)
            lines.append(hashlib.blake2b(message, digest_size=n, key=key).hexdigest())
    return lines


def chacha_cases(seed, nonce_length, cipher):
    lines = []
    for i in range(300):
        rng = SplitMix64(seed + i)
        length = rng.next() % 1001
        counter = rng.next() % (2**32 - 16)
        key = rng.bytes(32)
        nonce = rng.bytes(nonce_length)
        message = rng.bytes(length)
        lines.append(hashlib.sha256(cipher(key, nonce, counter, message)).hexdigest())
    return lines


def swift_string(name, lines):
    return f'let {name} = """\n' + "\n".join(lines) + '\n"""\n'


def main():
    self_check()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    path = os.path.join(root, "Tests", "SessionKitCryptoTests", "BLAKE2bChaChaVectors.swift")
    with open(path, "w") as f:
        f.write("// Generated by scripts/crypto-vectors-blake2b-chacha.py from Python's hashlib.blake2b and the\n")
        f.write("// `cryptography` package's ChaCha20. Do not edit. The script describes the seeded inputs.\n\n")
        f.write("/// Lines 0...63: unkeyed BLAKE2b with output lengths 1...64; lines 64...127: keyed.\n")
        f.write(swift_string("blake2bDifferentialVectors", blake2b_cases()))
        f.write("\n/// SHA-256 of each seeded ChaCha20 ciphertext (seed 2000 + line).\n")
        f.write(swift_string("chacha20DifferentialVectors", chacha_cases(2000, 12, chacha20)))
        f.write("\n/// SHA-256 of each seeded XChaCha20 ciphertext (seed 3000 + line).\n")
        f.write(swift_string("xchacha20DifferentialVectors", chacha_cases(3000, 24, xchacha20)))
    print("wrote", os.path.relpath(path, root))


if __name__ == "__main__":
    main()
