#!/usr/bin/env bash
# Kills training with SIGKILL at random moments, again and again, and checks after each kill that the run's
# last.pt still loads (it is only ever replaced by an atomic rename). Usage: scripts/kill-loop.sh [yolo] [rounds]
set -uo pipefail
yolo=${1:-.build/debug/yolo}
rounds=${2:-20}
dir=$(mktemp -d)
last="$dir/runs/kill/weights/last.pt"
loaded=0 missing=0 broken=0
for i in $(seq 1 "$rounds"); do
  "$yolo" train data=shapes imgsz=64 epochs=100 batch=8 workers=2 val=False plots=False \
    project="$dir/runs" name=kill exist_ok=True >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 3 + rand() * 9 }')"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ ! -f "$last" ]; then missing=$((missing + 1)); continue; fi
  if "$yolo" info model="$last" imgsz=64 >/dev/null 2>&1; then loaded=$((loaded + 1)); else broken=$((broken + 1)); echo "round $i: last.pt does not load"; fi
done
echo "kill-loop: $rounds kills: last.pt loaded after $loaded, absent (killed before the first epoch ended) after $missing, broken after $broken"
rm -rf "$dir"
[ "$broken" -eq 0 ]
