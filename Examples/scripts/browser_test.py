#!/usr/bin/env python3
"""Drives the SessionKit Hummingbird demo with headless Chromium (selenium).

For each store given (memory, redis), the demo is started three times with different cookie
settings, each time on a free loopback port and with a fresh browser:

  lax     default settings: counter, HttpOnly, login, flash, CSRF, logout, settings page,
          and a cross-site navigation that does carry a SameSite=Lax cookie (the control)
  strict  SameSite=Strict: a cross-site navigation (localhost -> 127.0.0.1) carries no cookie
  devices two browsers log in as one user: the devices page lists both and marks the current
          one; "log out this device" ends the other browser's session; "log out everywhere" ends
          both, and a copy of the cookie taken before it no longer works
  ttl     sessionCookie=true with a short server-side expiry: the cookie has no expiry date,
          yet the session ends on the server once the TTL has passed. The memory store runs on
          the demo's test clock (SESSIONKIT_TEST_CLOCK=1), which the test moves forward with
          POST /__test/advance instead of waiting; Redis keeps its TTLs on its own clock, which
          no test can move, so there the test waits until Redis reports the session's key gone

The HTTP status of each form post is read from Chromium's performance log (the DevTools
Network.responseReceived events of the page's navigations), not from the page's text.

Screenshots go to --artifacts. Every check prints PASS or FAIL; the last line is
'N passed, N failed' and the exit status is 1 when anything failed.

Usage: browser_test.py --demo PATH/TO/SessionKitHummingbirdDemo [--redis-url redis://127.0.0.1:PORT]
                       [--artifacts DIR] [--chromium /usr/bin/chromium] [--chromedriver /usr/bin/chromedriver]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

TTL_SECONDS = 3
# Redis's TTL runs on Redis's clock: long enough that two page loads in a row fall within it.
REDIS_TTL_SECONDS = 5


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}{': ' + detail if detail else ''}", flush=True)
        return ok


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """One run of the demo server with the given settings."""

    def __init__(self, binary, store, extra_env, log_path):
        self.port = free_port()
        env = dict(os.environ)
        env.update({"SESSIONKIT_STORE": store, "SESSIONKIT_PORT": str(self.port), "SESSIONKIT_HOST": "127.0.0.1"})
        env.update(extra_env)
        self.log = open(log_path, "w")
        self.process = subprocess.Popen([binary], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo exited with status {self.process.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.read() == b"ok":
                        return
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"the demo did not answer on port {self.port} within 60 s; see {log_path}")
            time.sleep(0.2)

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Browser:
    def __init__(self, args):
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1000,760", "--no-first-run", "--disable-features=HttpsUpgrades",
                     f"--user-data-dir={tempfile.mkdtemp(prefix='sessionkit-chromium-')}"):
            options.add_argument(flag)
        # The DevTools network events, for the HTTP status of each navigation.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)
        self.artifacts = args.artifacts

    def get(self, url):
        self.driver.get(url)

    def click_and_wait(self, element_id):
        """Clicks an element that navigates (a submit button, a link) and waits until the new
        page has replaced the old one and finished loading."""
        self.driver.execute_script("window.__sessionkitOldPage = true")
        self.driver.find_element(By.ID, element_id).click()
        # The marker lives in the old document's window only. Mid-navigation, chromedriver may
        # answer with assorted errors: they mean "not yet".
        WebDriverWait(self.driver, 20, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return window.__sessionkitOldPage === undefined && document.readyState === 'complete'"))

    def navigations(self):
        """The document responses since the last call, as (method, url, status), oldest first,
        from the performance log's Network.requestWillBeSent (redirects) and
        Network.responseReceived (final responses)."""
        methods = {}
        seen = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message.get("method") == "Network.requestWillBeSent":
                # A redirect is reported here, with the request it ends, not as a response.
                redirect = params.get("redirectResponse")
                if redirect is not None and params.get("type") == "Document":
                    seen.append((methods.get(params.get("requestId")), redirect.get("url"), redirect.get("status")))
                methods[params.get("requestId")] = params.get("request", {}).get("method")
            elif message.get("method") == "Network.responseReceived" and params.get("type") == "Document":
                response = params.get("response", {})
                seen.append((methods.get(params.get("requestId")), response.get("url"), response.get("status")))
        return seen

    def post_status(self, path):
        """The status of the last POST to `path` among the navigations since the last call."""
        statuses = [status for method, url, status in self.navigations() if method == "POST" and url.endswith(path)]
        return statuses[-1] if statuses else None

    def text(self, element_id):
        try:
            return self.driver.find_element(By.ID, element_id).text
        except NoSuchElementException:
            return None

    def flashes(self):
        return [e.text for e in self.driver.find_elements(By.CLASS_NAME, "flash")]

    def cookie(self, name="session"):
        return self.driver.get_cookie(name)

    def shot(self, name):
        path = os.path.join(self.artifacts, f"{name}.png")
        self.driver.save_screenshot(path)

    def quit(self):
        self.driver.quit()


def lax_checks(b, demo, r, label):
    # Counter across reloads.
    b.get(demo.url("/"))
    first = b.text("visits")
    b.driver.refresh()
    second = b.text("visits")
    b.driver.refresh()
    third = b.text("visits")
    r.check(f"{label}: counter increments across reloads", (first, second, third) == ("1", "2", "3"),
            f"saw {first}, {second}, {third}")
    b.shot(f"{label}-1-counter")

    # HttpOnly: the session cookie exists but scripts cannot see it.
    cookie = b.cookie()
    r.check(f"{label}: session cookie is HttpOnly", cookie is not None and cookie.get("httpOnly") is True, str(cookie))
    b.driver.execute_script("document.cookie = 'probe=1; path=/'")
    visible = b.driver.execute_script("return document.cookie")
    r.check(f"{label}: document.cookie hides the session cookie (a script cookie stays visible)",
            "session=" not in visible and "probe=1" in visible, f"document.cookie = {visible!r}")

    # Login: new session ID, data kept, flash message across the redirect, shown once.
    before = (b.cookie() or {}).get("value")
    b.get(demo.url("/login"))
    b.driver.find_element(By.ID, "username").send_keys("ada")
    b.click_and_wait("login")
    after = (b.cookie() or {}).get("value")
    r.check(f"{label}: login changes the session cookie's value", before and after and before != after,
            f"before {before!r}, after {after!r}")
    r.check(f"{label}: login keeps the data and shows the user",
            b.text("visits") == "4" and "ada" in (b.text("user") or ""), f"visits {b.text('visits')}, user {b.text('user')!r}")
    r.check(f"{label}: flash message shown after the redirect", b.flashes() == ["Welcome, ada!"], str(b.flashes()))
    b.shot(f"{label}-2-logged-in")
    b.driver.refresh()
    r.check(f"{label}: flash message shown only once", b.flashes() == [], str(b.flashes()))

    # CSRF: the right token, then no token and a wrong one, which change nothing.
    b.get(demo.url("/form"))
    b.navigations()
    b.driver.find_element(By.ID, "note-input").send_keys("hello from the browser")
    b.click_and_wait("save")
    status = b.post_status("/form")
    r.check(f"{label}: form post with the CSRF token is accepted (303 to the form)",
            status == 303 and b.text("note") == "hello from the browser" and b.flashes() == ["Note saved."],
            f"status {status}, note {b.text('note')!r}, flashes {b.flashes()}")
    b.shot(f"{label}-3-form-saved")
    for case, tamper in (("without the CSRF token", "document.querySelector('input[name=csrf_token]').remove()"),
                         ("with a wrong CSRF token", "document.querySelector('input[name=csrf_token]').value = 'wrong-token'")):
        b.get(demo.url("/form"))
        b.driver.execute_script(tamper)
        b.driver.find_element(By.ID, "note-input").send_keys(f"posted {case}")
        b.navigations()
        b.click_and_wait("save")
        status = b.post_status("/form")
        r.check(f"{label}: form post {case} is rejected with HTTP 403",
                status == 403 and b.text("csrf-error") is not None, f"status {status}, title {b.driver.title!r}")
        b.shot(f"{label}-4-csrf-rejected-{case.split()[0]}")
        b.get(demo.url("/form"))
        r.check(f"{label}: the post {case} left the note unchanged", b.text("note") == "hello from the browser",
                repr(b.text("note")))

    # Logout: the session ends; only the logout flash lives on in a fresh session.
    b.get(demo.url("/"))
    logged_in = (b.cookie() or {}).get("value")
    b.click_and_wait("logout")
    now = (b.cookie() or {}).get("value")
    r.check(f"{label}: logout clears the session",
            b.text("visits") == "1" and "Not logged in" in (b.text("user") or "") and now != logged_in,
            f"visits {b.text('visits')}, user {b.text('user')!r}, cookie changed {now != logged_in}")
    r.check(f"{label}: logout flash shown", b.flashes() == ["You have been logged out."], str(b.flashes()))
    b.shot(f"{label}-5-logged-out")
    b.get(demo.url("/form"))
    r.check(f"{label}: logout dropped the saved note", b.text("note") == "(none yet)", repr(b.text("note")))

    # The settings page.
    b.get(demo.url("/settings"))
    r.check(f"{label}: settings page shows the cookie settings",
            b.text("setting-cookieName") == "session" and b.text("setting-sameSite") == "Lax"
            and b.text("setting-httpOnly") == "true",
            f"cookieName {b.text('setting-cookieName')!r}, sameSite {b.text('setting-sameSite')!r}")
    b.shot(f"{label}-6-settings")

    # Control for the SameSite=Strict check: a Lax cookie does go along on a cross-site
    # top-level navigation, so a "no" in the strict run is the attribute's doing.
    b.get(demo.url("/cross-site", host="localhost"))
    b.click_and_wait("cross-link")
    r.check(f"{label}: a SameSite=Lax cookie is sent on a cross-site navigation (control)",
            b.text("cookie-received") == "yes", repr(b.text("cookie-received")))


def login(b, demo, name):
    b.get(demo.url("/login"))
    b.driver.find_element(By.ID, "username").send_keys(name)
    b.click_and_wait("login")


def devices_checks_with(args):
    """The devices phase needs a second browser: another device of the same user."""

    def checks(b, demo, r, label):
        other = Browser(args)
        try:
            login(b, demo, "grace")
            login(other, demo, "grace")
            r.check(f"{label}: both browsers are logged in as the user",
                    "grace" in (b.text("user") or "") and "grace" in (other.text("user") or ""),
                    f"{b.text('user')!r}, {other.text('user')!r}")
            b.get(demo.url("/devices"))
            r.check(f"{label}: the devices page lists both sessions and marks this one",
                    b.text("device-count") == "2" and b.text("device-current") is not None,
                    f"count {b.text('device-count')!r}")
            b.shot(f"{label}-1-devices")
            b.navigations()
            b.click_and_wait(b.driver.find_element(By.CLASS_NAME, "revoke").get_attribute("id"))
            r.check(f"{label}: 'log out this device' is accepted and leaves one session listed",
                    b.post_status("/devices/revoke") == 303 and b.text("device-count") == "1"
                    and b.flashes() == ["That device was logged out."],
                    f"count {b.text('device-count')!r}, flashes {b.flashes()}")
            other.driver.refresh()
            r.check(f"{label}: the other browser's session ended", "Not logged in" in (other.text("user") or ""),
                    repr(other.text("user")))
            b.get(demo.url("/"))
            r.check(f"{label}: this browser is still logged in", "grace" in (b.text("user") or ""), repr(b.text("user")))

            # Log out everywhere, from this browser, with the other one logged in again.
            login(other, demo, "grace")
            copied = other.cookie()
            b.get(demo.url("/"))
            b.navigations()
            b.click_and_wait("logout-everywhere")
            r.check(f"{label}: 'log out everywhere' logs this browser out",
                    b.post_status("/logout-everywhere") == 303 and "Not logged in" in (b.text("user") or "")
                    and b.flashes() == ["You have been logged out everywhere."],
                    f"user {b.text('user')!r}, flashes {b.flashes()}")
            other.driver.refresh()
            r.check(f"{label}: ... and the other browser", "Not logged in" in (other.text("user") or ""), repr(other.text("user")))
            # A copy of the other browser's cookie from before: it opens nothing.
            third = Browser(args)
            try:
                third.get(demo.url("/healthz"))
                if copied is not None:
                    third.driver.add_cookie({"name": copied["name"], "value": copied["value"], "path": "/"})
                third.get(demo.url("/"))
                r.check(f"{label}: a copy of a revoked cookie opens no session",
                        copied is not None and "Not logged in" in (third.text("user") or ""), repr(third.text("user")))
            finally:
                third.quit()
            b.shot(f"{label}-2-logged-out-everywhere")
        finally:
            other.quit()

    return checks


def strict_checks(b, demo, r, label):
    b.get(demo.url("/"))
    cookie = b.cookie()
    r.check(f"{label}: cookie set with SameSite=Strict", cookie is not None and cookie.get("sameSite") == "Strict", str(cookie))
    b.get(demo.url("/cookie-check"))
    r.check(f"{label}: a same-site request carries the Strict cookie", b.text("cookie-received") == "yes",
            repr(b.text("cookie-received")))
    b.get(demo.url("/cross-site", host="localhost"))
    b.shot(f"{label}-1-cross-site-page")
    b.click_and_wait("cross-link")
    r.check(f"{label}: a SameSite=Strict cookie is not sent on a cross-site navigation (localhost -> 127.0.0.1)",
            b.text("cookie-received") == "no" and b.driver.current_url.startswith("http://127.0.0.1:"),
            f"received {b.text('cookie-received')!r} at {b.driver.current_url}")
    b.shot(f"{label}-2-cross-site-arrival")


def advance_clock(demo, seconds):
    """Moves the demo's test clock (SESSIONKIT_TEST_CLOCK=1) forward."""
    request = urllib.request.Request(demo.url(f"/__test/advance?seconds={seconds}"), method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"/__test/advance answered {response.status}")


def redis_command(redis_url, *arguments):
    """One command to the test's redis-server (redis://HOST:PORT), as RESP; returns the reply line."""
    host, port = redis_url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    payload = f"*{len(arguments)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in arguments)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(payload)
        return s.recv(256).split(b"\r\n")[0].decode()


def ttl_checks(redis_url):
    """The TTL phase: on the memory store (redis_url None), the demo's test clock is moved; on
    Redis, the test waits until Redis itself expires the session's key."""

    def checks(b, demo, r, label):
        ttl = REDIS_TTL_SECONDS if redis_url else TTL_SECONDS
        b.get(demo.url("/"))
        b.driver.refresh()
        cookie = b.cookie()
        r.check(f"{label}: sessionCookie=true sets a cookie without expiry", cookie is not None and "expiry" not in cookie,
                str(cookie))
        r.check(f"{label}: the session lives within the TTL", b.text("visits") == "2", repr(b.text("visits")))
        b.shot(f"{label}-1-session-cookie")
        if redis_url is None:
            # Just short of the TTL: still alive (and the visit renews it) ...
            advance_clock(demo, ttl - 1)
            b.driver.refresh()
            r.check(f"{label}: one second before the TTL the session is still there", b.text("visits") == "3",
                    repr(b.text("visits")))
            # ... and past it: gone.
            advance_clock(demo, ttl + 1)
        else:
            key = "session:" + (cookie or {}).get("value", "")
            pttl = redis_command(redis_url, "PTTL", key)
            r.check(f"{label}: Redis holds the session with the configured TTL",
                    pttl.startswith(":") and 0 < int(pttl[1:]) <= ttl * 1000, f"PTTL {key} = {pttl!r}")
            # Redis's own clock runs the TTL (no test can move it): poll, bounded, until
            # Redis reports the key gone.
            deadline = time.monotonic() + ttl + 30
            while redis_command(redis_url, "EXISTS", key) != ":0" and time.monotonic() < deadline:
                time.sleep(0.2)
        still = b.cookie()
        b.driver.refresh()
        r.check(f"{label}: after the server-side TTL the session has ended though the browser kept its cookie",
                still is not None and b.text("visits") == "1", f"cookie kept {still is not None}, visits {b.text('visits')!r}")
        b.shot(f"{label}-2-after-ttl")

    return checks


def run_phase(args, r, store_label, store, phase, env, checks):
    label = f"{store_label}/{phase}"
    demo = browser = None
    try:
        demo = Demo(args.demo, store, env, os.path.join(args.artifacts, f"{store_label}-{phase}-server.log"))
        browser = Browser(args)
        checks(browser, demo, r, f"{store_label}-{phase}")
    except (WebDriverException, RuntimeError, OSError) as error:
        traceback.print_exc()
        r.check(f"{label}: phase ran to the end", False, f"{type(error).__name__}: {error}")
        if browser is not None:
            try:
                browser.shot(f"{store_label}-{phase}-error")
            except WebDriverException:
                pass
    finally:
        if browser is not None:
            browser.quit()
        if demo is not None:
            demo.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", required=True, help="path of the SessionKitHummingbirdDemo binary")
    parser.add_argument("--redis-url", help="redis://127.0.0.1:PORT to also test the Redis store")
    parser.add_argument("--artifacts", default=".artifacts/browser")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not try to download anything

    stores = [("memory", "memory")]
    if args.redis_url:
        stores.append(("redis", args.redis_url))
    r = Results()
    for store_label, store in stores:
        run_phase(args, r, store_label, store, "lax", {}, lax_checks)
        run_phase(args, r, store_label, store, "strict", {"SESSIONKIT_SAMESITE": "strict"}, strict_checks)
        run_phase(args, r, store_label, store, "devices", {}, devices_checks_with(args))
        if store == "memory":
            ttl_env = {"SESSIONKIT_SESSION_COOKIE": "1", "SESSIONKIT_EXPIRY": str(TTL_SECONDS), "SESSIONKIT_TEST_CLOCK": "1"}
        else:
            ttl_env = {"SESSIONKIT_SESSION_COOKIE": "1", "SESSIONKIT_EXPIRY": str(REDIS_TTL_SECONDS)}
        run_phase(args, r, store_label, store, "ttl", ttl_env, ttl_checks(None if store == "memory" else store))

    print(f"screenshots and server logs: {args.artifacts}")
    if r.failures:
        print("failed: " + "; ".join(r.failures))
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
