"""Times pyramid's signed-cookie encode (SignedSerializer.dumps) and decode (loads).

Usage: python cookie_pyramid.py <iterations> <secret> <state-json> <accessed> <created>
Prints {"encode_per_s": n, "decode_per_s": n, "cookie": "..."} on one line.
"""
import json
import sys
import time

from webob.cookies import JSONSerializer, SignedSerializer

iterations = int(sys.argv[1])
secret = sys.argv[2]
state = json.loads(sys.argv[3])
accessed = int(sys.argv[4])
created = float(sys.argv[5])

# The serializer SignedCookieSessionFactory builds with its defaults.
serializer = SignedSerializer(secret, "pyramid.session.", "sha512", serializer=JSONSerializer())
appstruct = (accessed, created, state)

start = time.perf_counter()
for _ in range(iterations):
    cookie = serializer.dumps(appstruct)
encode = iterations / (time.perf_counter() - start)

start = time.perf_counter()
for _ in range(iterations):
    serializer.loads(cookie)
decode = iterations / (time.perf_counter() - start)

print(json.dumps({"encode_per_s": encode, "decode_per_s": decode, "cookie": cookie.decode("ascii")}))
