"""Reads and writes sessions with sanic_session's memcache interface (aiomcache), for
SessionKit's interop test.

    python sanic_interop.py write  <host> <port> <prefix> <expiry> <json-object>        -> {"sid": ...}
    python sanic_interop.py read   <host> <port> <prefix> <expiry> <sid>                -> {"data": {...}}
    python sanic_interop.py update <host> <port> <prefix> <expiry> <sid> <json-object>  -> {"data": {...}}

The session goes through sanic_session's own open()/save() (key prefix+sid, ujson value,
set with exptime=expiry), driven with minimal request/response stand-ins instead of a running
Sanic app.
"""
import asyncio
import json
import sys
import types

import aiomcache
from sanic_session import MemcacheSessionInterface


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
    command, host, port, prefix, expiry = argv[1], argv[2], int(argv[3]), argv[4], int(argv[5])
    client = aiomcache.Client(host, port)
    interface = MemcacheSessionInterface(client, prefix=prefix, expiry=expiry)
    try:
        if command == "write":
            request = Request({})
            session = await interface.open(request)
            session.update(json.loads(argv[6]))
            await interface.save(request, Response())
            print(json.dumps({"sid": session.sid}))
        elif command == "read":
            request = Request({"session": argv[6]})
            session = await interface.open(request)
            print(json.dumps({"data": dict(session)}))
        elif command == "update":
            request = Request({"session": argv[6]})
            session = await interface.open(request)
            session.update(json.loads(argv[7]))
            await interface.save(request, Response())
            print(json.dumps({"data": dict(session)}))
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
