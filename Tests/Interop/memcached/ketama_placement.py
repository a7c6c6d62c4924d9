"""Where libmemcached's ketama_weighted distribution (through pylibmc) puts keys, found on
real servers, for SessionKit's ring test.

    python ketama_placement.py  < {"servers": ["127.0.0.2:11211", "127.0.0.1:40001", ...], "keys": [...]}
                                -> {"placement": {key: server index}, "libmemcached": "1.1.4"}

Every key is stored through one pylibmc client configured with behaviors={"ketama_weighted": True};
then each server is asked on its own which keys it holds. The servers must start empty.
"""
import json
import sys

import pylibmc


def main():
    request = json.load(sys.stdin)
    servers, keys = request["servers"], request["keys"]
    ring = pylibmc.Client(servers, behaviors={"ketama_weighted": True})
    failed = ring.set_multi({key: key.encode() for key in keys})
    if failed:
        raise SystemExit(f"pylibmc could not store {len(failed)} keys, e.g. {failed[:3]}")
    placement = {}
    for index, server in enumerate(servers):
        single = pylibmc.Client([server])
        for start in range(0, len(keys), 500):
            for key in single.get_multi(keys[start:start + 500]):
                if key in placement:
                    raise SystemExit(f"key {key} found on two servers")
                placement[key] = index
    print(json.dumps({"placement": placement, "libmemcached": pylibmc.libmemcached_version}))


if __name__ == "__main__":
    main()
