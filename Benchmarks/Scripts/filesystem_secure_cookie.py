"""Werkzeug secure_cookie's FilesystemSessionStore doing get+save, for the `filesystem` suite.

    python filesystem_secure_cookie.py <directory> <seconds> <threads>

Prints `ops_per_second=<n>`, one op being a get of an existing session, a change and a save
(what SessionKit's benchmark does with load+save). Needs `pip install secure-cookie`.
"""
import sys
import threading
import time

from secure_cookie.session import FilesystemSessionStore


def main():
    path, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    store = FilesystemSessionStore(path=path)
    sids = []
    for i in range(1000):
        session = store.new()
        session["user"] = "user%d" % i
        session["visits"] = 0
        session["theme"] = "dark"
        session["csrf"] = "q" * 43
        session["cart"] = [1, 2, 3]
        store.save(session)
        sids.append(session.sid)

    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(t):
        i, done = t, 0
        while time.monotonic() < deadline:
            for _ in range(16):
                session = store.get(sids[i % len(sids)])
                session["visits"] = session.get("visits", 0) + 1
                store.save(session)
                i += threads
                done += 1
        counts[t] = done

    start = time.monotonic()
    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    print("ops_per_second=%.1f" % (sum(counts) / elapsed))


if __name__ == "__main__":
    main()
