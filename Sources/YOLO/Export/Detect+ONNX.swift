import Torch

// The detection head in ONNX: both branches, DFL and the decoding of Detect.decode, into one
// (batch, 4 + nc, anchors) output as the reference's export.

/// Where the decoder's anchor points and strides come from.
enum ONNXAnchors {
    /// Constants for a fixed input size (height, width), as the reference's static export.
    case fixed(height: Int, width: Int)
    /// Computed in the graph from each feature map's shape, for inputs of any size.
    case fromFeatures
}

extension Detect {
    /// The head's outputs, in the reference's order: `output0` (its decoded predictions) and, for segmentation,
    /// `output1` (the prototypes).
    func emitOutputs(
        _ features: [String], into graph: ONNXGraphBuilder, scope: String, anchors: ONNXAnchors
    ) throws -> [String] {
        let decoded = try emit(features, into: graph, scope: scope, anchors: anchors)
        if let segment = self as? Segment {
            return try segment.emitMasks(decoded: decoded, features: features, into: graph, scope: scope)
        }
        if let pose = self as? Pose {
            return [try pose.emitKeypoints(decoded: decoded, features: features, into: graph, scope: scope, anchors: anchors)]
        }
        return [decoded]
    }

    /// Each level's branch on its feature map, flattened to (batch, channels, cells) and joined along the cells.
    func emitBranches(
        _ sequences: [Sequential], name: String, channels: Int, features: [String], into graph: ONNXGraphBuilder,
        scope: String
    ) throws -> String {
        let levels = try zip(sequences, features).enumerated().map { i, pair in
            let y = try pair.0.emit([pair.1], into: graph, scope: "\(scope).\(name).\(i)")
            // Shape 0 copies the batch dimension, so one graph serves fixed and dynamic batches.
            return graph.add1("Reshape", [y, graph.int64s([0, channels, -1], scope: scope)], scope: scope)
        }
        return graph.add1("Concat", levels, attributes: [.int("axis", 2)], scope: scope)
    }

    /// Adds the head on the feature maps `features` and returns its decoded predictions.
    func emit(
        _ features: [String], into graph: ONNXGraphBuilder, scope: String, anchors: ONNXAnchors
    ) throws -> String {
        func branches(_ sequences: [Sequential], name: String, channels: Int) throws -> String {
            try emitBranches(sequences, name: name, channels: channels, features: features, into: graph, scope: scope)
        }
        let boxes = try branches(cv2, name: "cv2", channels: 4 * regMax)
        let scores = try branches(cv3, name: "cv3", channels: nc)
        let distances = try emitDFL(boxes, into: graph, scope: "\(scope).dfl")
        let (points, strides) = try emitAnchors(features, into: graph, scope: scope, source: anchors)

        // distancesToBoxes (xywh) and the scaling by stride, as in `decode`.
        let sides = graph.split(distances, sizes: [2, 2], axis: 1, scope: scope)
        let topLeft = graph.add1("Sub", [points, sides[0]], scope: scope)
        let bottomRight = graph.add1("Add", [points, sides[1]], scope: scope)
        let sum = graph.add1("Add", [topLeft, bottomRight], scope: scope)
        let centre = graph.add1("Div", [sum, graph.floats([2], shape: [], scope: scope)], scope: scope)
        let size = graph.add1("Sub", [bottomRight, topLeft], scope: scope)
        let xywh = graph.add1("Concat", [centre, size], attributes: [.int("axis", 1)], scope: scope)
        let pixels = graph.add1("Mul", [xywh, strides], scope: scope)
        let probabilities = graph.add1("Sigmoid", [scores], scope: scope)
        return graph.add1("Concat", [pixels, probabilities], attributes: [.int("axis", 1)], scope: scope)
    }

    /// DFL: (batch, 4·bins, anchors) logits → (batch, 4, anchors) expected distances. The softmax runs over a
    /// last axis of bins (its meaning in every opset), and the DFL's 1×1 convolution with weights 0…bins−1 becomes
    /// the equal product with those weights as a (bins, 1) matrix.
    private func emitDFL(_ x: String, into graph: ONNXGraphBuilder, scope: String) throws -> String {
        let bins = dfl.bins
        let split = graph.add1("Reshape", [x, graph.int64s([0, 4, bins, -1], scope: scope)], scope: scope)
        let binsLast = graph.add1("Transpose", [split], attributes: [.ints("perm", [0, 1, 3, 2])], scope: scope)
        let probabilities = graph.softmaxLastAxis(binsLast, scope: scope)
        let weights = try graph.weight(dfl.conv.weight.reshape(bins, 1), name: "\(scope).conv.weight")
        let expected = graph.add1("MatMul", [probabilities, weights], scope: scope)
        return graph.add1("Reshape", [expected, graph.int64s([0, 4, -1], scope: scope)], scope: scope)
    }

    /// Anchor points (1, 2, anchors) in grid cells and strides (1, 1, anchors), ordered as `makeAnchors`.
    func emitAnchors(
        _ features: [String], into graph: ONNXGraphBuilder, scope: String, source: ONNXAnchors
    ) throws -> (points: String, strides: String) {
        switch source {
        case .fixed(let height, let width):
            // makeAnchors itself, on empty maps of each level's size: the same numbers as the Swift forward.
            let maps = try stride.map { s in try Tensor.zeros([1, 1, height / Int(s), width / Int(s)]) }
            let (points, strides) = try makeAnchors(maps, strides: stride)
            let count = points.size(0)
            let pointValues = try points.transpose(0, 1).contiguous().toArray(Float.self)
            return (
                graph.floats(pointValues, shape: [1, 2, count], scope: scope),
                graph.floats(try strides.toArray(Float.self), shape: [1, 1, count], scope: scope)
            )
        case .fromFeatures:
            let levels = zip(features, stride).map { emitLevelAnchors($0, stride: $1, into: graph, scope: scope) }
            let axis: [ONNXAttributeProto] = [.int("axis", 2)]
            return (
                graph.add1("Concat", levels.map(\.points), attributes: axis, scope: scope),
                graph.add1("Concat", levels.map(\.strides), attributes: axis, scope: scope)
            )
        }
    }

    /// One level's anchors from its feature map's shape: centres (x + 0.5, y + 0.5) row-major, and its stride.
    private func emitLevelAnchors(
        _ feature: String, stride: Double, into graph: ONNXGraphBuilder, scope: String
    ) -> (points: String, strides: String) {
        func node(_ op: String, _ inputs: [String], _ attributes: [ONNXAttributeProto] = []) -> String {
            graph.add1(op, inputs, attributes: attributes, scope: scope)
        }
        func ints(_ values: Int..., scalar: Bool = false) -> String {
            graph.int64s(values, scalar: scalar, scope: scope)
        }
        let shape = node("Shape", [feature])
        let size = node("Slice", [shape, ints(2), ints(4)])  // (h, w)
        // Cell centres 0.5, 1.5, … along one dimension, laid as a row or column, spread over the grid, flattened.
        func centres(dimension: Int, line: [Int]) -> String {
            let count = node("Gather", [shape, ints(dimension, scalar: true)], [.int("axis", 0)])
            let indices = node("Range", [ints(0, scalar: true), count, ints(1, scalar: true)])
            let half = graph.floats([0.5], shape: [], scope: scope)
            let offset = node("Add", [graph.cast(indices, to: graph.floatType, scope: scope), half])
            let grid = node("Expand", [node("Reshape", [offset, graph.int64s(line, scope: scope)]), size])
            return node("Reshape", [grid, ints(1, 1, -1)])
        }
        let x = centres(dimension: 3, line: [1, -1]), y = centres(dimension: 2, line: [-1, 1])
        let stride = graph.floats([Float(stride)], shape: [1, 1, 1], scope: scope)
        return (node("Concat", [x, y], [.int("axis", 1)]), node("Expand", [stride, node("Shape", [x])]))
    }
}
