#!/usr/bin/env bash
# Resident memory over long runs (Linux: /proc/PID/status), to show that it stays flat:
#   training: RSS when each epoch ends, over EPOCHS epochs (default 50) of the built-in dataset;
#   predict:  RSS every second over COUNT predictions (default 10,000) in one process (a folder of links to the
#             built-in validation images, predicted without saving).
# Prints start, after warm-up (the first WARMUP per cent, default 10), end, and the growth after warm-up; writes the
# samples to $OUT/train-rss.csv and $OUT/predict-rss.csv.
#
#   scripts/memory-curve.sh                     # release build: swift build -c release --product yolo
#   YOLO=.build/debug/yolo EPOCHS=10 COUNT=1000 scripts/memory-curve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
YOLO=${YOLO:-.build/release/yolo}
EPOCHS=${EPOCHS:-50}
COUNT=${COUNT:-10000}
IMGSZ=${IMGSZ:-160}
WARMUP=${WARMUP:-10}
OUT=${OUT:-runs/memory}
[ -x "$YOLO" ] || { echo "no $YOLO: build it first (swift build -c release --product yolo)" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $("$YOLO" version 2>/dev/null | head -1 || true)"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# Prints start, after warm-up and end of the second column of a CSV (header first), in MiB, and the growth.
summary() {
  awk -F, -v warm="$WARMUP" -v what="$2" 'NR > 1 { v[++n] = $2 } END {
    if (n == 0) { print what ": no samples"; exit 1 }
    w = int(n * warm / 100); if (w < 1) w = 1
    printf "%s: %d samples; RSS start %.1f MiB, after warm-up (sample %d) %.1f MiB, end %.1f MiB, growth after warm-up %+.1f%%\n",
      what, n, v[1] / 1024, w, v[w] / 1024, v[n] / 1024, 100 * (v[n] - v[w]) / v[w] }' "$1"
}

# Training: the RSS sampled when results.csv gains each epoch's row.
"$YOLO" train epochs="$EPOCHS" imgsz="$IMGSZ" plots=False project="$OUT" name=train > "$OUT/train.log" 2>&1 &
pid=$!
echo "epoch,rss_kib" > "$OUT/train-rss.csv"
seen=0
training_size=
while kill -0 "$pid" 2>/dev/null; do
  rows=$(( $( (cat "$OUT/train/results.csv" 2>/dev/null || true) | wc -l) - 1 ))
  if [ "$rows" -gt "$seen" ]; then
    seen=$rows
    echo "$rows,$(rss "$pid")" >> "$OUT/train-rss.csv"
    [ "$rows" -eq 2 ] && training_size=$(stat -c %s "$OUT/train/weights/last.pt" 2>/dev/null || echo "?")
  fi
  sleep 0.5
done
wait "$pid" || { echo "training failed: see $OUT/train.log" >&2; tail -20 "$OUT/train.log" >&2; exit 1; }
summary "$OUT/train-rss.csv" "training, $EPOCHS epochs at $IMGSZ"
echo "checkpoints: last.pt during training ${training_size:-?} bytes; final (stripped, float16) last.pt" \
  "$(stat -c %s "$OUT/train/weights/last.pt") bytes, best.pt $(stat -c %s "$OUT/train/weights/best.pt") bytes"

# Predict: one process over COUNT images (links to the built-in validation images).
val=$(find "${XDG_CACHE_HOME:-$HOME/.cache}/swift-yolo/datasets" -maxdepth 3 -path '*/shapes-v*/images/val' \
  -not -path '*-seg/*' -not -path '*-pose/*' -type d 2>/dev/null | head -1)
[ -n "$val" ] || { echo "cannot find the built-in dataset's images/val" >&2; exit 1; }
mkdir -p "$OUT/source"
files=("$val"/*)
for ((i = 0; i < COUNT; i++)); do ln -s "${files[i % ${#files[@]}]}" "$OUT/source/$i.${files[0]##*.}"; done
"$YOLO" predict model="$OUT/train/weights/best.pt" source="$OUT/source" imgsz="$IMGSZ" save=False verbose=False \
  > "$OUT/predict.log" 2>&1 &
pid=$!
echo "second,rss_kib" > "$OUT/predict-rss.csv"
t=0
while kill -0 "$pid" 2>/dev/null; do
  r=$(rss "$pid")
  [ -n "$r" ] && echo "$t,$r" >> "$OUT/predict-rss.csv"
  t=$((t + 1))
  sleep 1
done
wait "$pid" || { echo "predict failed: see $OUT/predict.log" >&2; tail -20 "$OUT/predict.log" >&2; exit 1; }
summary "$OUT/predict-rss.csv" "predict, $COUNT images at $IMGSZ"
