"""The reference's side of bench-step: one training step of Ultralytics' yolov8n.yaml on a fixed batch, phase by
phase (forward, loss, backward, clipping + AdamW step, EMA update), main-thread CPU ms, median of the timed steps.
Prints one JSON object. Usage: step_bench.py IMGSZ BATCH THREADS STEPS TASK [TRACE PHASE] (TASK: detect or segment,
yolov8n-seg.yaml with each box also a rectangular mask; TRACE: the last step's PHASE as a Chrome trace)"""
import json
import statistics
import sys
import time

import torch
from ultralytics.nn.tasks import DetectionModel, SegmentationModel
from ultralytics.utils.torch_utils import ModelEMA

imgsz, batch, threads, steps = (int(a) for a in sys.argv[1:5])
segment = sys.argv[5] == "segment"
trace, trace_phase = (sys.argv[6], sys.argv[7]) if len(sys.argv) > 7 else (None, None)
torch.set_num_threads(threads)
torch.manual_seed(0)
model = (SegmentationModel("yolov8n-seg.yaml", nc=80, verbose=False) if segment
         else DetectionModel("yolov8n.yaml", nc=80, verbose=False))
model.train()
model.args = type("Args", (), {"box": 7.5, "cls": 0.5, "dfl": 1.5, "overlap_mask": True})()
criterion = model.init_criterion()
decay, norm, bias = [], [], []
for module in model.modules():
    for name, p in module.named_parameters(recurse=False):
        (bias if "bias" in name else norm if isinstance(module, torch.nn.BatchNorm2d) else decay).append(p)
optimizer = torch.optim.AdamW(bias, lr=0.001, betas=(0.9, 0.999), weight_decay=0.0)
optimizer.add_param_group({"params": decay, "weight_decay": 0.0005})
optimizer.add_param_group({"params": norm, "weight_decay": 0.0})
ema = ModelEMA(model)
n = batch * 3 * imgsz * imgsz
images = (torch.arange(n, dtype=torch.int64) * 2654435761 % 1000).float().div(1000).reshape(batch, 3, imgsz, imgsz)
rows = [[i, (i * 7 + j * 13) % 80, 0.2 + 0.3 * j, 0.3 + 0.02 * i, 0.1 + 0.05 * j, 0.15] for i in range(batch) for j in range(3)]
t = torch.tensor(rows, dtype=torch.float32)
targets = {"batch_idx": t[:, 0], "cls": t[:, 1:2], "bboxes": t[:, 2:6], "img": images}
if segment:  # as the Swift side: object j of an image painted as its box, value j + 1, later over earlier
    side = imgsz // 4
    masks = torch.zeros(batch, side, side, dtype=torch.int32)
    for r, (i, _, cx, cy, w, h) in enumerate(rows):
        x1, x2, y1, y2 = (int((cx - w / 2) * side), int((cx + w / 2) * side), int((cy - h / 2) * side),
                          int((cy + h / 2) * side))
        masks[int(i), max(y1, 0):min(y2, side), max(x1, 0):min(x2, side)] = r % 3 + 1
    targets["masks"] = masks
times = {}


def timed(step, name, body):
    start = time.thread_time()
    if trace and step == steps + 1 and name == trace_phase:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p:
            result = body()
        p.export_chrome_trace(trace)
    else:
        result = body()
    if step >= 2:
        times.setdefault(name, []).append((time.thread_time() - start) * 1000)
    return result


def optimize():
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
    optimizer.step()
    optimizer.zero_grad()


for step in range(steps + 2):
    preds = timed(step, "forward", lambda: model(images))
    loss, _ = timed(step, "loss", lambda: criterion(preds, targets))
    timed(step, "backward", lambda: loss.sum().backward())
    timed(step, "optimizer", optimize)
    timed(step, "ema", lambda: ema.update(model))
print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
