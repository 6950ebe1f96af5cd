#!/usr/bin/env bash
# The GPU acceptance check of the engine issue, on a machine with an NVIDIA GPU and a CUDA torch:
#   1. predict a coco8 image on CUDA and on the CPU: the same boxes within 1e-2 px (confidences within 1e-3);
#   2. val of the reference's overfit checkpoint in float32 and with half=True: mAP50-95 within 1e-2;
#   3. 3 epochs on coco8 with amp=True: finite losses, the GradScaler's state in the saved checkpoints;
#   4. training images/s at 640, batch 32, 1 epoch of coco8 x 32 (and the reference's on the same GPU when
#      `python3 -c 'import ultralytics'` works there).
# Usage: scripts/gpu-acceptance.sh [YOLO] [SHARED]
#   YOLO: a yolo binary built against this machine's torch (default: built here with LIBTORCH from python3's torch)
#   SHARED: the folder with datasets/, assets/ and reference/ (default: ../shared beside the checkout)
# Writes gpu-acceptance/ (run folders and summary.txt) and prints one PASS/FAIL line per check.
# DEVICE (default 0) names the GPU; DEVICE=cpu runs the same steps on the CPU to try the script itself (there the
# AMP check fails: the CPU trains in float32 and has no GradScaler). PYTHON (default python3) needs torch.
set -uo pipefail
device=${DEVICE:-0}
python=${PYTHON:-python3}
cd "$(dirname "$0")/.."
root=$PWD
torch_dir=$($python -c 'import torch, os; print(os.path.dirname(torch.__file__))')
export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
yolo=${1:-}
if [ -z "$yolo" ]; then
  LIBTORCH="$torch_dir" swift build -c release --product yolo --scratch-path .build-gpu || exit 1
  yolo=$root/.build-gpu/release/yolo
fi
shared=$(cd "${2:-$root/../shared}" && pwd)
out=$root/gpu-acceptance
rm -rf "$out" && mkdir -p "$out" && cd "$out" || exit 1
summary=$out/summary.txt
fails=0
report() {  # report NAME OK DETAIL
  local verdict=PASS
  [ "$2" = 1 ] || { verdict=FAIL; fails=$((fails + 1)); }
  echo "$verdict $1: $3" | tee -a "$summary"
}

"$yolo" checks | tee -a "$summary"
# The reference's checkpoint overfit on coco8's training images (43 detections on 000000000009.jpg; none on
# bus.jpg), and writable copies of the datasets (a scan writes its label cache beside the labels).
best=$shared/reference/yolov8n-coco8-overfit/best.pt
cp -r "$shared/datasets/coco8" "$shared/datasets/coco8.yaml" "$shared/datasets/coco8-trainval.yaml" . && chmod -R u+w .
image=$out/coco8/images/train/000000000009.jpg

# 1. predict on CUDA and on the CPU
for d in "$device" cpu; do
  "$yolo" predict model="$best" source="$image" device=$d save_txt=True save_conf=True project="$out" \
    name="predict-$d" exist_ok=True >"predict-$d.log" 2>&1
done
verdict=$($python - "$out/predict-$device/labels/000000000009.txt" "$out/predict-cpu/labels/000000000009.txt" <<'PY'
import os, sys
w = h = 640  # the image's sides are at most 640: differences in pixels are at most this scale of the normalised ones
rows = [sorted(tuple(map(float, l.split())) for l in open(p)) if os.path.exists(p) else [] for p in sys.argv[1:]]
a, b = rows
if len(a) != len(b): print(0, f"{len(a)} boxes on CUDA, {len(b)} on the CPU"); sys.exit()
px = max((abs(x - y) * (w if i in (1, 3) else h) for r, s in zip(a, b) for i, (x, y) in enumerate(zip(r[1:5], s[1:5]), 1)), default=0)
conf = max((abs(r[5] - s[5]) for r, s in zip(a, b)), default=0)
print(int(len(a) > 0 and px < 1e-2 and conf < 1e-3), f"{len(a)} boxes, largest difference {px:.2e} px, confidence {conf:.1e}")
PY
)
report "predict CUDA vs CPU" "${verdict%% *}" "${verdict#* }"

# 2. val in float32 and half
for half in False True; do
  "$yolo" val model="$best" data="$out/coco8-trainval.yaml" imgsz=320 device="$device" half=$half \
    project="$out" name="val-half-$half" exist_ok=True >"val-$half.log" 2>&1
done
verdict=$($python - "$out"/val-half-False/metrics.json "$out"/val-half-True/metrics.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
key = "mAP50-95"
print(int(abs(a[key] - b[key]) < 1e-2), f"{key} float32 {a[key]:.4f}, half {b[key]:.4f}")
PY
)
report "val float32 vs half" "${verdict%% *}" "${verdict#* }"

# 3. three epochs with amp=True (save_period=1 keeps each epoch's unstripped checkpoint)
"$yolo" train data="$out/coco8.yaml" model=yolov8n.yaml epochs=3 imgsz=640 batch=16 device="$device" amp=True \
  save_period=1 plots=False project="$out" name=amp exist_ok=True >amp.log 2>&1
verdict=$($python - "$out/amp" <<'PY'
import csv, sys, torch
run = sys.argv[1]
rows = list(csv.DictReader(open(f"{run}/results.csv")))
losses = [float(r[k]) for r in rows for k in r if k.strip().startswith("train/")]
ok = len(rows) == 3 and all(x == x and abs(x) < 1e6 for x in losses)
scaler = torch.load(f"{run}/weights/epoch3.pt", weights_only=False).get("scaler") or {}
ok = ok and scaler.get("scale", 0) > 0
print(int(ok), f"{len(rows)} epochs, losses {losses[-3:]}, scaler {scaler}")
PY
)
report "train amp=True" "${verdict%% *}" "${verdict#* }"

# 4. training images/s at 640, batch 32
mkdir -p coco8x32/images/train coco8x32/labels/train
for i in $(seq 1 32); do
  for f in "$out"/coco8/images/train/*.jpg; do
    n=$(basename "$f" .jpg)
    ln -sf "$f" "coco8x32/images/train/${n}_$i.jpg"
    cp "$out/coco8/labels/train/$n.txt" "coco8x32/labels/train/${n}_$i.txt" 2>/dev/null
  done
done
sed -e "s|^path:.*|path: $out/coco8x32|" -e "s|^val:.*|val: images/train|" "$out/coco8.yaml" >coco8x32.yaml
start=$(date +%s.%N)
"$yolo" train data=coco8x32.yaml model=yolov8n.yaml epochs=1 imgsz=640 batch=32 device="$device" val=False plots=False \
  project="$out" name=speed exist_ok=True >speed.log 2>&1
count=$(ls coco8x32/images/train | wc -l)
ours=$($python -c "print(f'{$count / ($(date +%s.%N) - $start):.1f}')")
line="ours $ours img/s (whole run: start-up included)"
if $python -c 'import ultralytics' 2>/dev/null; then
  start=$(date +%s.%N)
  $python -c "from ultralytics import YOLO; YOLO('yolov8n.yaml').train(data='coco8x32.yaml', epochs=1, imgsz=640, batch=32, device='$device', val=False, plots=False, project='$out', name='speed-ref', exist_ok=True)" >speed-ref.log 2>&1
  line="$line, the reference $($python -c "print(f'{$count / ($(date +%s.%N) - $start):.1f}')") img/s"
fi
report "training speed" 1 "$line"
echo "$fails check(s) failed; logs in $out"
exit $((fails > 0))
