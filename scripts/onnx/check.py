#!/usr/bin/env python3
"""Checks ONNX files written by swift-yolo, for its tests: onnx.checker, then one run in ONNX Runtime (CPU).

    check.py MODEL.onnx [MODEL.onnx ...] --input x.f32 --shape 1,3,640,640

The input is raw little-endian float32 in C order. Each model's first output is written beside it as
MODEL.onnx.out.f32 (further outputs as MODEL.onnx.out1.f32, ...); stdout is one JSON object, by model path: the graph's inputs and outputs (name, element type,
dimensions: numbers or names), opset, IR version, metadata, the element types of the initializers, and the shape of
the output computed. A model that fails the checker or does not run makes the script exit non-zero.
"""
import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime


def describe(value):
    tensor = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tensor.shape.dim]
    return {"name": value.name, "type": onnx.TensorProto.DataType.Name(tensor.elem_type), "dims": dims}


def check(path, x):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)  # full_check also runs shape inference
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: x})
    y = outputs[0]
    for k, out in enumerate(outputs):
        np.ascontiguousarray(out, dtype="<f4").tofile(path + (".out.f32" if k == 0 else ".out%d.f32" % k))
    return {
        "inputs": [describe(v) for v in model.graph.input],
        "outputs": [describe(v) for v in model.graph.output],
        "opset": {o.domain: o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "metadata": {p.key: p.value for p in model.metadata_props},
        "initializer_types": sorted({onnx.TensorProto.DataType.Name(t.data_type) for t in model.graph.initializer}),
        "output_shape": list(y.shape),
        "output_shapes": [list(out.shape) for out in outputs],
        "output_type": str(y.dtype),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--input", required=True, help="raw float32 input")
    parser.add_argument("--shape", required=True, help="input shape, comma-separated")
    args = parser.parse_args()
    shape = [int(n) for n in args.shape.split(",")]
    x = np.fromfile(args.input, dtype="<f4").reshape(shape)
    json.dump({path: check(path, x) for path in args.models}, sys.stdout)


if __name__ == "__main__":
    main()
