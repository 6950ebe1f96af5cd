"""The reference side of bench-train: one epoch of Ultralytics' own trainer (YOLO('yolov8n.yaml').train from scratch,
default augmentations, CPU), timed by callbacks from the end of the warm-up batches to the end of the epoch (data
loading included, the dataset scan and validation not). Prints one JSON line with images/s and the epoch's mean
losses.

    python train_bench.py DATA_YAML IMGSZ BATCH WARMUP_BATCHES THREADS PROJECT_DIR [MODEL_YAML] [AMP]

MODEL_YAML defaults to yolov8n.yaml (yolov8n-seg.yaml trains a segmenter, its task taken from the head). AMP is the
trainer's `amp` (True, False or bf16; default True, which the reference turns off on the CPU).

THREADS 0 leaves the reference's own choice (select_device sets min(8, cores - 1) torch threads on CPU); any other
value is set when training starts, after select_device.
"""
import json
import sys
import time


def main():
    data_yaml, imgsz, batch, warmup, threads, project = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    model_yaml = sys.argv[7] if len(sys.argv) > 7 else "yolov8n.yaml"
    amp = {"true": True, "false": False, "fp32": False}.get(sys.argv[8].lower(), sys.argv[8]) if len(sys.argv) > 8 else True
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    LOGGER.setLevel("WARNING")  # keep stdout to the JSON line
    marks, state = [], {}

    def on_train_start(trainer):
        if threads > 0:
            torch.set_num_threads(threads)
        state["threads"] = torch.get_num_threads()
        state["workers"] = trainer.train_loader.num_workers
        # Validation is not what is measured: skip it (fitness None is what val=False gives the stopper).
        trainer.validate = lambda: ({}, None)
        trainer.final_eval = lambda: None

    def on_train_batch_end(trainer):
        marks.append(time.perf_counter())

    def on_train_epoch_end(trainer):
        state["losses"] = [float(v) for v in trainer.tloss.values()] if isinstance(trainer.tloss, dict) else [
            float(v) for v in trainer.tloss]

    model = YOLO(model_yaml)
    model.add_callback("on_train_start", on_train_start)
    model.add_callback("on_train_batch_end", on_train_batch_end)
    model.add_callback("on_train_epoch_end", on_train_epoch_end)
    model.train(data=data_yaml, epochs=1, imgsz=imgsz, batch=batch, val=False, plots=False, device="cpu",
                project=project, name="ref", exist_ok=True, seed=0, verbose=False, amp=amp)
    timed = marks[warmup - 1:]  # from the end of the last warm-up batch
    images = batch * (len(timed) - 1)  # the dataset is a multiple of the batch: every batch is full
    seconds = timed[-1] - timed[0]
    print(json.dumps({"images": images, "seconds": seconds, "images_per_second": images / seconds,
                      "losses": state.get("losses"), "threads": state.get("threads"), "workers": state.get("workers"),
                      "batches": len(marks)}))


if __name__ == "__main__":
    main()
