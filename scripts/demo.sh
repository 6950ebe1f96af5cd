#!/usr/bin/env bash
# The main job: train YOLOv8n from scratch on the built-in shapes dataset, validate the best weights, and predict
# on the validation images. Offline; about 10 minutes on 2 CPU cores. Usage: scripts/demo.sh [yolo binary]
set -euo pipefail
yolo=${1:-.build/release/yolo}
run=runs/detect/demo
"$yolo" train data=shapes model=yolov8n.yaml imgsz=160 epochs=25 batch=16 nbs=16 workers=2 name=demo exist_ok=True
"$yolo" val model=$run/weights/best.pt data=shapes imgsz=160 batch=32 name=demo-val exist_ok=True
images="${XDG_CACHE_HOME:-$HOME/.cache}/swift-yolo/datasets/shapes-v1/images/val"
"$yolo" predict model=$run/weights/best.pt source="$images" imgsz=160 name=demo-predict exist_ok=True | tail -n 5
echo "Training run: $run (results.csv, results.png, weights/best.pt); predictions: runs/detect/demo-predict"
