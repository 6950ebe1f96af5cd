import Torch

// The segmentation head in ONNX: Detect's decoded output with the mask coefficients appended (`output0`, (batch,
// 4 + nc + nm, anchors)) and the prototypes (`output1`, (batch, nm, H/4, W/4)), as the reference's export.

extension Segment {
    func emitMasks(decoded: String, features: [String], into graph: ONNXGraphBuilder, scope: String) throws -> [String] {
        let coefficients = try emitBranches(cv4, name: "cv4", channels: nm, features: features, into: graph, scope: scope)
        let output = graph.add1("Concat", [decoded, coefficients], attributes: [.int("axis", 1)], scope: scope)
        let prototypes = try proto.emit([features[0]], into: graph, scope: "\(scope).proto")
        return [output, prototypes]
    }
}

extension Proto: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        let x = try cv1.emit(inputs, into: graph, scope: "\(scope).cv1")
        let up = try upsample.emit([x], into: graph, scope: "\(scope).upsample")
        let y = try cv2.emit([up], into: graph, scope: "\(scope).cv2")
        return try cv3.emit([y], into: graph, scope: "\(scope).cv3")
    }
}

extension ConvTranspose2d: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        var arguments = [inputs[0], try graph.weight(weight, name: "\(scope).weight")]
        if let bias { arguments.append(try graph.weight(bias, name: "\(scope).bias")) }
        let k = weight.size(2)
        return graph.add1(
            "ConvTranspose", arguments,
            attributes: [
                .ints("kernel_shape", [k, k]), .ints("strides", [stride, stride]),
                .ints("pads", [padding, padding, padding, padding]),
            ], scope: scope)
    }
}
