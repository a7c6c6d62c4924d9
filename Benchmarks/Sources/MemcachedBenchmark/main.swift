print("memcached benchmark: not written yet")
