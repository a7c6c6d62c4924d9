"""PASETO v4.local peer for the encrypted-cookie interoperability tests: pyseto.

Reads a JSON array of operations on stdin and prints a JSON array of results:

  {"op": "decrypt", "key": hex, "cookie": name, "token": hex-of-token-bytes}
      -> {"claims": canonical JSON text of the payload} or {"rejected": "ExceptionName"}
  {"op": "encrypt", "key": hex, "cookie": name, "claims": JSON text}
      -> {"token": "v4.local...."}
  {"op": "derive", "secret": text}
      -> {"key": hex}  (HKDF-SHA-512 with SessionKit's salt and info, by `cryptography`)

Decryption uses pyseto.decode without a deserializer (the raw payload bytes), so that time
claims do not make the result depend on the clock; the payload is then parsed with json and
written back canonically (sorted keys, no ASCII escaping).
"""
import json
import sys

import pyseto
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def key_of(hex_key):
    return pyseto.Key.new(version=4, purpose="local", key=bytes.fromhex(hex_key))


def run(op):
    if op["op"] == "decrypt":
        try:
            token = pyseto.decode(key_of(op["key"]), bytes.fromhex(op["token"]), implicit_assertion=op["cookie"].encode())
        except Exception as error:  # every refusal of pyseto's, whatever its class
            return {"rejected": type(error).__name__}
        if token.footer:
            return {"rejected": "footer"}
        claims = json.loads(token.payload)
        return {"claims": json.dumps(claims, sort_keys=True, ensure_ascii=False, separators=(",", ":"))}
    if op["op"] == "encrypt":
        claims = json.loads(op["claims"])
        token = pyseto.encode(key_of(op["key"]), claims, implicit_assertion=op["cookie"].encode())
        return {"token": token.decode("ascii")}
    if op["op"] == "derive":
        kdf = HKDF(algorithm=hashes.SHA512(), length=32, salt=b"SessionKit encrypted cookie", info=b"PASETO v4.local key")
        return {"key": kdf.derive(op["secret"].encode()).hex()}
    return {"error": "unknown op " + op["op"]}


print(json.dumps([run(op) for op in json.load(sys.stdin)]))
