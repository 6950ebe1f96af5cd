#!/usr/bin/env bash
# Regenerates Sources/YOLO/Report/TensorBoardProto.pb.swift from event.proto (run by hand when the subset changes;
# the generated file is committed, so a build needs neither protoc nor the plugin).
# Needs protoc (apt-get install protobuf-compiler) and protoc-gen-swift built from swift-protobuf at the version
# Package.swift pins: PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift, or on PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}"
out="$(mktemp -d)"
protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$here" --swift_out="$out" --swift_opt=Visibility=Internal \
    "$here/event.proto"
mv "$out/event.pb.swift" "$here/../../Sources/YOLO/Report/TensorBoardProto.pb.swift"
rmdir "$out"
