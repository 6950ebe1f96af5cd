import Torch

// The pose head in ONNX: Detect's decoded output with the decoded keypoints appended (`output0`, (batch, 4 + nc +
// K·dims, anchors)), as the reference's export: x, y = (2·raw + anchor − 0.5)·stride, visibility through a sigmoid.

extension Pose {
    func emitKeypoints(
        decoded: String, features: [String], into graph: ONNXGraphBuilder, scope: String, anchors source: ONNXAnchors
    ) throws -> String {
        let (k, dims) = keypointShape
        func node(_ op: String, _ inputs: [String], _ attributes: [ONNXAttributeProto] = []) -> String {
            graph.add1(op, inputs, attributes: attributes, scope: scope)
        }
        let raw = try emitBranches(cv4, name: "cv4", channels: k * dims, features: features, into: graph, scope: scope)
        let values = node("Reshape", [raw, graph.int64s([0, k, dims, -1], scope: scope)])  // (b, K, dims, anchors)
        let (points, strides) = try emitAnchors(features, into: graph, scope: scope, source: source)
        let grid = node("Reshape", [points, graph.int64s([1, 1, 2, -1], scope: scope)])
        let step = node("Reshape", [strides, graph.int64s([1, 1, 1, -1], scope: scope)])
        let parts = dims == 3 ? graph.split(values, sizes: [2, 1], axis: 2, scope: scope) : [values]
        let twice = node("Mul", [parts[0], graph.floats([2], shape: [], scope: scope)])
        let shifted = node("Add", [twice, node("Sub", [grid, graph.floats([0.5], shape: [], scope: scope)])])
        var keypoints = node("Mul", [shifted, step])
        if dims == 3 { keypoints = node("Concat", [keypoints, node("Sigmoid", [parts[1]])], [.int("axis", 2)]) }
        let flat = node("Reshape", [keypoints, graph.int64s([0, k * dims, -1], scope: scope)])
        return node("Concat", [decoded, flat], [.int("axis", 1)])
    }
}
