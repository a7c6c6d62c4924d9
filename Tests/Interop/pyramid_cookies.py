"""Drives pyramid's real SignedCookieSessionFactory for SessionKit's interoperability tests.

Reads a JSON list of operations on standard input and writes a JSON list of results:

  {"op": "encode", "state_json": "{...}", "settings": {...}}
      -> {"cookie": "<value of the Set-Cookie the session sets>"}
     A session is created by pyramid's factory, the state's keys are set in sorted order,
     and the response callback renders the cookie.
  {"op": "dumps", "accessed": n, "created": x, "state_json": "{...}", "settings": {...}}
      -> {"cookie": "<SignedSerializer.dumps((accessed, created, state))>"}
  {"op": "decode", "cookie": "...", "settings": {...}, "read": true}
      -> {"new": bool, "state_json": "{...}", "created": x, "accessed": x, "reissued": bool,
          "flash": [...], "csrf": "..."}
     pyramid opens a session from the cookie; with "read", it reads the session through its
     API, and "reissued" tells whether pyramid would send a new cookie. "flash" and "csrf"
     come from peek_flash() and get_csrf_token() afterwards.

States travel as JSON text so that numbers and booleans keep their exact types.

"settings" are keyword arguments of SignedCookieSessionFactory (secret, hashalg, timeout, ...).
"""
import json
import sys

from pyramid.session import SignedCookieSessionFactory
from pyramid.testing import DummyRequest
from webob import Response
from webob.cookies import JSONSerializer, SignedSerializer


def sorted_state(value):
    """The value with every object's keys in sorted order (SessionKit writes them sorted)."""
    if isinstance(value, dict):
        return {key: sorted_state(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_state(item) for item in value]
    return value


def factory(settings):
    return SignedCookieSessionFactory(**settings)


def run_callbacks(request):
    response = Response()
    for callback in list(request.response_callbacks or []):
        callback(request, response)
    return response


def cookie_value(response, name):
    for header in response.headers.getall("Set-Cookie"):
        if header.startswith(name + "="):
            return header.split(";", 1)[0][len(name) + 1:]
    return None


def op_encode(item):
    settings = item["settings"]
    request = DummyRequest()
    session = factory(settings)(request)
    state = sorted_state(json.loads(item["state_json"]))
    for key in state:
        session[key] = state[key]
    response = run_callbacks(request)
    return {"cookie": cookie_value(response, settings.get("cookie_name", "session"))}


def op_dumps(item):
    settings = item["settings"]
    serializer = SignedSerializer(
        settings["secret"], settings.get("salt", "pyramid.session."), settings.get("hashalg", "sha512"),
        serializer=JSONSerializer())
    state = sorted_state(json.loads(item["state_json"]))
    value = serializer.dumps((item["accessed"], item["created"], state))
    return {"cookie": value.decode("ascii")}


def op_decode(item):
    settings = item["settings"]
    name = settings.get("cookie_name", "session")
    request = DummyRequest(cookies={name: item["cookie"]})
    session = factory(settings)(request)
    state = dict(session.items()) if item.get("read") else dict(dict.items(session))
    response = run_callbacks(request)
    return {
        "new": session.new,
        "state_json": json.dumps(state),
        "created": session.created,
        "accessed": session.accessed,
        "reissued": cookie_value(response, name) is not None,
        "flash": session.peek_flash(),
        "csrf": dict.get(session, "_csrft_"),
    }


OPS = {"encode": op_encode, "dumps": op_dumps, "decode": op_decode}

if __name__ == "__main__":
    results = []
    for item in json.load(sys.stdin):
        try:
            results.append(OPS[item["op"]](item))
        except Exception as error:  # reported to the Swift test, which fails on it
            results.append({"error": "%s: %s" % (type(error).__name__, error)})
    json.dump(results, sys.stdout)
