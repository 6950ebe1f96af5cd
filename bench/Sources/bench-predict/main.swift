print("bench-predict: not written yet")
