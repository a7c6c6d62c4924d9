print("filesystem benchmark: not written yet")
