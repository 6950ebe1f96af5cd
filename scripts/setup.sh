#!/usr/bin/env bash
# Installs what swift-yolo builds on: libtorch and OpenCV (and, with `test`, Python's torch for the interop test
# and the side-by-side benchmarks, and Chromium to check that report.html renders). Debian/Ubuntu use apt; macOS
# gets the Homebrew line to run.
# Usage: scripts/setup.sh [test]
set -euo pipefail

packages=(libtorch-dev libgloo-dev libdnnl-dev libopencv-dev pkg-config)  # headers of libtorch's Gloo (DDP), oneDNN
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
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v swift >/dev/null || { echo "setup: no Swift toolchain on PATH (https://swift.org/install)" >&2; exit 1; }
echo "setup: libtorch, OpenCV$([ "${1:-}" = test ] && echo ", python3-torch") ready"
