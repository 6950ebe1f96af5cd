# The two commands a user needs: `make run` (install, build, run the main job) and `make test`.
.PHONY: setup run test bench

setup:
	@scripts/setup.sh

run: setup
	swift build -c release --product yolo
	scripts/demo.sh .build/release/yolo

test:
	@scripts/setup.sh test
	swift build --build-tests
	swift test --skip-build --disable-swift-testing

bench:
	@scripts/setup.sh test
	swift build -c release --product bench-torch
	.build/release/bench-torch
