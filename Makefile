# The two commands a user needs: `make run` (install, build, run the main job) and `make test`.
# TORCH=pip (e.g. `make test TORCH=pip`) builds against pip's torch 2.x (installed by scripts/setup.sh into
# .venv-torch) instead of Debian's libtorch 1.13, in its own build folder.
.PHONY: setup run test bench bench-train

TORCH ?= system
export TORCH
ifeq ($(TORCH),pip)
SCRATCH := --scratch-path .build-torch-pip
SUFFIX := -torch-pip
ENGINE = LIBTORCH="$$(ls -d $(CURDIR)/.venv-torch/lib/python3*/site-packages/torch | head -n 1)"
BIN := .build-torch-pip
else
BIN := .build
endif

setup:
	@scripts/setup.sh

run: setup
	$(ENGINE) swift build -c release --product yolo $(SCRATCH)
	scripts/demo.sh $(BIN)/release/yolo

test:
	@scripts/setup.sh test
	$(ENGINE) swift build --build-tests $(SCRATCH)
	$(ENGINE) swift test --skip-build --disable-swift-testing $(SCRATCH)

bench:
	@scripts/setup.sh test
	swift build -c release --product bench-torch
	.build/release/bench-torch

# Training images/s, ours and the reference's, at each side's default threads and at equal threads (see
# bench/Sources/bench-train). ARGS passes options, e.g. make bench-train ARGS="--imgsz 320 --rounds 2". With
# TORCH=pip, ours runs on pip's torch: give the reference the same engine, e.g. ARGS="--python
# ../.venv-ultralytics-pip/bin/python" (TORCH=pip ../shared/peer/setup-ultralytics.sh ../.venv-ultralytics-pip).
bench-train:
	@scripts/setup.sh test
	$(ENGINE) swift build -c release --scratch-path .build-bench-train$(SUFFIX) --product bench-train
	.build-bench-train$(SUFFIX)/release/bench-train $(ARGS)

# predict latency (bus.jpg, zidane.jpg) and val images/s, ours and the reference's at equal torch threads (see
# bench/Sources/bench-predict). ARGS passes options, e.g. make bench-predict ARGS="--rounds 2 --iterations 5".
.PHONY: bench-predict
bench-predict:
	@scripts/setup.sh test
	$(ENGINE) swift build -c release --scratch-path .build-bench$(SUFFIX) --product bench-predict
	.build-bench$(SUFFIX)/release/bench-predict $(ARGS)

# One training step phase by phase (forward, loss, backward, optimizer, EMA), ours and the reference's, in CPU time
# (see bench/Sources/bench-step). ARGS passes options, e.g. make bench-step ARGS="--imgsz 640 --profile /tmp/t.json".
.PHONY: bench-step
bench-step:
	@scripts/setup.sh test
	$(ENGINE) swift build -c release --scratch-path .build-bench$(SUFFIX) --product bench-step
	.build-bench$(SUFFIX)/release/bench-step $(ARGS)
