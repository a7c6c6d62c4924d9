"""Times the encrypted-cookie peers on the cookie benchmark's session.

Usage: python encrypted_cookie_peers.py <iterations> <key-hex> <state-json> <accessed> <created>
Prints {"pyseto_encode_per_s": n, "pyseto_decode_per_s": n, "fernet_encode_per_s": n,
"fernet_decode_per_s": n, "pyseto_token": "..."} on one line.

- pyseto: PASETO v4.local with the same claims SessionKit writes (the session's values, iat,
  exp, _sk_created; iat is now rather than <accessed>, as pyseto checks exp on the wall clock) and the cookie name as implicit assertion; encode serializes the dict
  (pyseto's json), decode decrypts and parses it (deserializer=json, which also checks exp).
- Fernet + json: what aiohttp-session's EncryptedCookieStorage does per request:
  fernet.encrypt(json.dumps({"created": created, "session": state}).encode()) and
  json.loads(fernet.decrypt(cookie.encode()).decode()), with a Fernet key made from the same
  32 bytes.
"""
import base64
import json
import sys
import time
from datetime import datetime, timedelta, timezone

import pyseto
from cryptography.fernet import Fernet

iterations = int(sys.argv[1])
raw_key = bytes.fromhex(sys.argv[2])
state = json.loads(sys.argv[3])
accessed = int(sys.argv[4])
created = float(sys.argv[5])


def rate(body):
    start = time.perf_counter()
    for _ in range(iterations):
        result = body()
    return iterations / (time.perf_counter() - start), result


iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat()
# pyseto checks exp against the wall clock, so the times are today's.
issued = int(time.time())
claims = dict(state, iat=iso(issued), exp=iso(issued + 1200), _sk_created=created)
key = pyseto.Key.new(version=4, purpose="local", key=raw_key)
pyseto_encode, token = rate(lambda: pyseto.encode(key, claims, implicit_assertion=b"session"))
pyseto_decode, decoded = rate(lambda: pyseto.decode(key, token, implicit_assertion=b"session", deserializer=json))
assert decoded.payload["user_name"] == state["user_name"]

fernet = Fernet(base64.urlsafe_b64encode(raw_key))
data = {"created": int(created), "session": state}
fernet_encode, cookie = rate(lambda: fernet.encrypt(json.dumps(data).encode("utf-8")).decode("utf-8"))
fernet_decode, session = rate(lambda: json.loads(fernet.decrypt(cookie.encode("utf-8")).decode("utf-8")))
assert session["session"] == state

print(json.dumps({
    "pyseto_encode_per_s": pyseto_encode, "pyseto_decode_per_s": pyseto_decode,
    "fernet_encode_per_s": fernet_encode, "fernet_decode_per_s": fernet_decode,
    "pyseto_token": token.decode("ascii"),
}))
