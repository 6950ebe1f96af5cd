print("bench-loader: not written yet")
