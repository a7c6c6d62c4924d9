"""Reads and writes sessions with sanic_session's Redis interface, for SessionKit's interop test.

    python sanic_interop.py write <redis-url> <prefix> <expiry> <json-object>   -> {"sid": ..., "cookie": {...}}
    python sanic_interop.py read  <redis-url> <prefix> <expiry> <sid>           -> {"data": {...}}
    python sanic_interop.py update <redis-url> <prefix> <expiry> <sid> <json-object> -> {"data": {...}}

The session goes through sanic_session's own open()/save() (key prefix+sid, ujson value,
SETEX), driven with minimal request/response stand-ins instead of a running Sanic app.
"""
import asyncio
import json
import sys
import types

import redis.asyncio

# sanic_session imports `aioredis`, which now lives on as redis.asyncio in redis-py.
sys.modules.setdefault("aioredis", redis.asyncio)

from sanic_session.aioredis import AIORedisSessionInterface  # noqa: E402


class Cookies(dict):
    """Enough of Sanic's CookieJar for sanic_session: cookies[name] = value, then attributes."""

    def __setitem__(self, name, value):
        super().__setitem__(name, {"value": value})


class Request:
    def __init__(self, cookies):
        self.cookies = cookies
        self.ctx = types.SimpleNamespace()


class Response:
    def __init__(self):
        self.cookies = Cookies()


async def main(argv):
    command, url, prefix, expiry = argv[1], argv[2], argv[3], int(argv[4])
    client = redis.asyncio.from_url(url)
    interface = AIORedisSessionInterface(client, prefix=prefix, expiry=expiry)
    try:
        if command == "write":
            request = Request({})
            session = await interface.open(request)
            session.update(json.loads(argv[5]))
            response = Response()
            await interface.save(request, response)
            cookie = response.cookies["session"]
            print(json.dumps({"sid": session.sid, "cookie": {k: str(v) for k, v in cookie.items()}}))
        elif command == "read":
            request = Request({"session": argv[5]})
            session = await interface.open(request)
            print(json.dumps({"data": dict(session)}))
        elif command == "update":
            request = Request({"session": argv[5]})
            session = await interface.open(request)
            session.update(json.loads(argv[6]))
            await interface.save(request, Response())
            print(json.dumps({"data": dict(session)}))
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
