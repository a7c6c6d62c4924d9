print("inmemory benchmark: not written yet")
