"""The reference side of bench-predict: Ultralytics' `YOLO(pt).predict(image, imgsz=...)` latency and
`YOLO(pt).val(...)` throughput, on the CPU with a fixed number of torch threads (or its own default).

    python predict_val_bench.py CHECKPOINT THREADS [half]  (THREADS "default": leave the reference's own setting;
                                                            half: half=True, which it ignores on the CPU)

Stays alive so that the Swift side can alternate with it: reads one command per line on stdin and answers each
with one JSON line on stdout.

    predict IMGSZ ITERATIONS IMAGE [IMAGE ...]   -> per image (3 warm-up calls the first time it is named): median ms of preprocess + inference + postprocess (the
                                                    results' speed dict), each stage's median, and the median wall
                                                    and CPU (all threads) ms around predict()
    val DATA_YAML IMGSZ BATCH WORKERS            -> images, wall seconds of model.val(), its speed dict (ms per image)
"""
import json
import statistics
import sys
import time


def main():
    checkpoint, pinned = sys.argv[1], sys.argv[2] != "default"
    half = len(sys.argv) > 3 and sys.argv[3] == "half"
    import cv2
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    import ultralytics.utils.torch_utils as torch_utils

    if pinned:
        # Its select_device() (run by every predict setup and val) resets torch to min(8, cores - 1) threads: pin it
        # to the same count as ours, or a 2-core machine would compare our 2 threads with its 1.
        threads = int(sys.argv[2])
        torch.set_num_threads(threads)
        torch_utils.NUM_THREADS = threads
    LOGGER.setLevel("ERROR")  # keep stdout to the JSON lines
    model = YOLO(checkpoint)
    decoded = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "predict":
            imgsz, iterations, paths = int(words[1]), int(words[2]), words[3:]
            out = {}
            for path in paths:
                if path not in decoded:
                    decoded[path] = cv2.imread(path)  # decoded once: both sides time predict on a decoded image
                    for _ in range(3):  # warm-up (the first call builds the predictor and fuses the model)
                        model.predict(decoded[path], imgsz=imgsz, device="cpu", verbose=False, half=half)
                image = decoded[path]
                speeds, walls, cpus = [], [], []
                for _ in range(iterations):
                    start, cpu = time.perf_counter(), time.process_time()
                    r = model.predict(image, imgsz=imgsz, device="cpu", verbose=False, half=half)[0]
                    walls.append(1000 * (time.perf_counter() - start))
                    cpus.append(1000 * (time.process_time() - cpu))
                    speeds.append(r.speed)
                assert not pinned or torch.get_num_threads() == threads, torch.get_num_threads()
                out[path] = {"threads": torch.get_num_threads(), "stages_ms": statistics.median(sum(s.values()) for s in speeds),
                             "wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus),
                             "boxes": len(r.boxes),
                             "speed": {k: statistics.median(s[k] for s in speeds) for k in speeds[0]}}
            print(json.dumps(out), flush=True)
        elif words[0] == "val":
            data, imgsz, batch, workers = words[1], int(words[2]), int(words[3]), int(words[4])
            start = time.perf_counter()
            m = model.val(data=data, imgsz=imgsz, batch=batch, workers=workers, plots=False, device="cpu", half=half,
                          verbose=False, save_json=False, project="/tmp/swift-yolo-bench-predict-ref", name="val",
                          exist_ok=True)
            seconds = time.perf_counter() - start
            assert not pinned or torch.get_num_threads() == threads, torch.get_num_threads()
            print(json.dumps({"threads": torch.get_num_threads(), "seconds": seconds, "speed": m.speed, "mAP50-95": float(m.box.map)}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command {words[0]}"}), flush=True)


if __name__ == "__main__":
    main()
