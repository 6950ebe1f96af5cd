import Torch

// Each block writes its forward (Blocks.swift) as ONNX nodes, op for op, with its weights named by their
// state-dict names. Blocks are written fused: a Conv still holding its batch norm is an error.

/// A module that writes its forward into an ONNX graph.
protocol ONNXEmitting {
    /// Adds the nodes computing this module on `inputs` and returns the name of its output; `scope` is the
    /// module's state-dict prefix (`model.2.cv1`).
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String
}

/// Writes `module` (a block, or a layer it wraps) on one input.
func emitONNX(_ module: Any, _ x: String, into graph: ONNXGraphBuilder, scope: String) throws -> String {
    guard let module = module as? ONNXEmitting else {
        throw ExportError("\(scope): \(type(of: module)) cannot be exported to ONNX")
    }
    return try module.emit([x], into: graph, scope: scope)
}

extension Conv2d: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        let kernel = Array(weight.shape[2...])
        var arguments = [inputs[0], try graph.weight(weight, name: "\(scope).weight")]
        if let bias { arguments.append(try graph.weight(bias, name: "\(scope).bias")) }
        return graph.add1(
            "Conv", arguments,
            attributes: [
                .ints("kernel_shape", kernel), .ints("strides", [stride.0, stride.1]),
                .ints("pads", [padding.0, padding.1, padding.0, padding.1]),
                .ints("dilations", [dilation.0, dilation.1]), .int("group", groups),
            ], scope: scope)
    }
}

extension Conv: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        guard bn == nil else { throw ExportError("\(scope): batch norm not fused before export") }
        let y = try conv.emit(inputs, into: graph, scope: "\(scope).conv")
        guard activation else { return y }
        // SiLU as x·σ(x): ONNX has no SiLU operator (the reference's export writes the same pair).
        return graph.add1("Mul", [y, graph.add1("Sigmoid", [y], scope: "\(scope).act")], scope: "\(scope).act")
    }
}

extension Bottleneck: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        let hidden = try cv1.emit(inputs, into: graph, scope: "\(scope).cv1")
        let y = try cv2.emit([hidden], into: graph, scope: "\(scope).cv2")
        return add ? graph.add1("Add", [inputs[0], y], scope: scope) : y
    }
}

extension C2f: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        let x = try cv1.emit(inputs, into: graph, scope: "\(scope).cv1")
        var y = graph.split(x, sizes: [hidden, hidden], axis: 1, scope: scope)
        for (i, block) in m.enumerated() {
            y.append(try block.emit([y[y.count - 1]], into: graph, scope: "\(scope).m.\(i)"))
        }
        let joined = graph.add1("Concat", y, attributes: [.int("axis", 1)], scope: scope)
        return try cv2.emit([joined], into: graph, scope: "\(scope).cv2")
    }
}

extension SPPF: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        var y = [try cv1.emit(inputs, into: graph, scope: "\(scope).cv1")]
        for _ in 0..<3 { y.append(try m.emit([y[y.count - 1]], into: graph, scope: "\(scope).m")) }
        let joined = graph.add1("Concat", y, attributes: [.int("axis", 1)], scope: scope)
        return try cv2.emit([joined], into: graph, scope: "\(scope).cv2")
    }
}

extension MaxPool2d: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        graph.add1(
            "MaxPool", inputs,
            attributes: [
                .ints("kernel_shape", [kernelSize, kernelSize]), .ints("strides", [stride, stride]),
                .ints("pads", [padding, padding, padding, padding]),
            ], scope: scope)
    }
}

extension Upsample: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        graph.upsampleNearest(inputs[0], scale: scaleFactor, scope: scope)
    }
}

extension Concat: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        graph.add1("Concat", inputs, attributes: [.int("axis", dimension)], scope: scope)
    }
}

extension Sequential: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        var x = inputs[0]
        for (i, layer) in layers.enumerated() { x = try emitONNX(layer, x, into: graph, scope: "\(scope).\(i)") }
        return x
    }
}

extension Single: ONNXEmitting {
    func emit(_ inputs: [String], into graph: ONNXGraphBuilder, scope: String) throws -> String {
        try emitONNX(layer, inputs[0], into: graph, scope: scope)  // the wrapper adds no name of its own
    }
}
