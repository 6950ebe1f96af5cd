#!/usr/bin/env bash
# Installs what swift-yolo builds on: libtorch and OpenCV (and, with `test`, Python's torch for the interop test
# and the side-by-side benchmarks, and Chromium to check that report.html renders). Debian/Ubuntu use apt; macOS
# gets the Homebrew line to run.
# Usage: scripts/setup.sh [test]
# With TORCH=pip, the engine is pip's torch instead (the version pinned below, the CUDA build on Linux, ~5 GB with its
# nvidia-* packages) in .venv-torch; the Makefile then builds against it (LIBTORCH, .build-torch-pip).
set -euo pipefail
pip_torch="torch==2.15.*"

packages=(libtorch-dev libgloo-dev libdnnl-dev libopencv-dev pkg-config)  # headers of libtorch's Gloo (DDP), oneDNN
# Debian's libtorch multiplies matrices through the system BLAS, by default the unoptimised reference one (libblas3):
# OpenBLAS (its OpenMP build, libtorch's thread pool) takes over as libblas.so.3. A 25600x64 by 64x256 product on 2
# cores: 31 instead of 294 ms; a yolov8n-seg training step at 320, batch 16: 2.85 instead of 4.07 s.
packages+=(libopenblas0-openmp)
[ "${1:-}" = test ] && packages+=(python3-torch chromium)

case "$(uname -s)" in
  Darwin)
    echo "macOS: brew install pytorch opencv && export LIBTORCH=\"\$(brew --prefix pytorch)\""
    exit 0 ;;
esac

if ! command -v apt-get >/dev/null; then
  echo "setup: no apt-get here. Install libtorch (set LIBTORCH to its folder) and OpenCV 4 development files." >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "${TORCH:-system}" = pip ]; then
  cd "$(dirname "$0")/.."
  command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1 || {
    $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q python3-venv; }
  [ -x .venv-torch/bin/python ] || python3 -m venv .venv-torch
  # pip keeps its download cache (~/.cache/pip): a second machine set-up or CI run reuses the wheels.
  .venv-torch/bin/pip install -q "$pip_torch"
  echo "setup: pip torch $(cat .venv-torch/lib/python3*/site-packages/torch/version.py | sed -n "s/^__version__ = '\(.*\)'/\1/p") in .venv-torch"
fi
command -v swift >/dev/null || { echo "setup: no Swift toolchain on PATH (https://swift.org/install)" >&2; exit 1; }
echo "setup: libtorch, OpenCV$([ "${1:-}" = test ] && echo ", python3-torch") ready"
