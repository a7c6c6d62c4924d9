print("crypto benchmark: not written yet")
