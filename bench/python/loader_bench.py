"""The reference side of bench-loader: the Ultralytics training dataloader, built as its trainer builds it
(build_yolo_dataset + build_dataloader, mode 'train': mosaic, random perspective, HSV, flips at the default
hyper-parameters), timed over whole epochs after one warm-up epoch. Prints one JSON line.

    python loader_bench.py DATA_YAML IMGSZ BATCH WORKERS EPOCHS
"""
import json
import sys
import time


def main():
    data_yaml, imgsz, batch, workers, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(
        sys.argv[5]
    )
    from ultralytics.cfg import get_cfg
    from ultralytics.data.build import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.utils import LOGGER

    LOGGER.setLevel("WARNING")  # keep stdout to the JSON line
    data = check_det_dataset(data_yaml)
    cfg = get_cfg(overrides={"imgsz": imgsz, "batch": batch, "workers": workers, "plots": False})
    dataset = build_yolo_dataset(cfg, data["train"], batch, data, mode="train")
    loader = build_dataloader(dataset, batch, workers, shuffle=True, device="cpu")

    def run_epoch():
        images = 0
        for b in loader:
            # What the trainer does with each batch before the forward pass.
            images += b["img"].float().div_(255).shape[0]
        return images

    def cpu_seconds():
        """CPU time of this process and its worker processes (persistent, so alive before and after)."""
        import psutil

        me = psutil.Process()
        return sum(sum(p.cpu_times()[:2]) for p in [me, *me.children(recursive=True)])

    run_epoch()  # warm-up: worker start-up and first decodes
    cpu0, start = cpu_seconds(), time.perf_counter()
    images = sum(run_epoch() for _ in range(epochs))
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    print(json.dumps({"images": images, "seconds": seconds, "images_per_second": images / seconds,
                      "cpu_ms_per_image": 1000 * cpu / images, "workers": loader.num_workers, "dataset": len(dataset)}))
    loader.close()


if __name__ == "__main__":
    main()
