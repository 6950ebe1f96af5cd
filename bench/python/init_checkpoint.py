"""Writes the reference's freshly initialised model as a checkpoint that both sides of bench-train can start from
(`--same-init`): the two sides cannot draw the same initial weights from a seed, and the first epoch's losses
depend on that draw (segmentation's seg_loss by up to 2x), so comparing losses needs one starting point.

    python init_checkpoint.py MODEL_YAML OUT_PT [SEED]
"""
import sys

import torch
from ultralytics import YOLO
from ultralytics.utils.torch_utils import init_seeds


def main():
    model_yaml, out = sys.argv[1], sys.argv[2]
    init_seeds(int(sys.argv[3]) if len(sys.argv) > 3 else 0)  # as the trainer seeds before building its model
    model = YOLO(model_yaml)
    torch.save({"model": model.model.float(), "train_args": {"task": model.task, "model": model_yaml}, "epoch": -1},
               out)


if __name__ == "__main__":
    main()
