import Foundation
import Torch

/// Builds an ONNX graph node by node: unique value names, initializers for weights and constants, and the
/// spellings of ops whose signatures changed between opsets.
final class ONNXGraphBuilder {
    let opset: Int
    /// Element type of weights and activations: fp32, or fp16 for a `half` export.
    let floatType: ONNXTensorProto.DataType
    private(set) var nodes: [ONNXNodeProto] = []
    private(set) var initializers: [ONNXTensorProto] = []
    private var counts: [String: Int] = [:]

    init(opset: Int, half: Bool) {
        self.opset = opset
        floatType = half ? .float16 : .float
    }

    // MARK: Names

    /// `base`, or `base_1`, `base_2`, … when it is taken (ONNX needs every value and node name once).
    private func unique(_ base: String) -> String {
        let n = counts[base, default: 0]
        counts[base] = n + 1
        return n == 0 ? base : "\(base)_\(n)"
    }

    /// `model.2.cv1` → `/model.2/cv1`: the reference's (PyTorch exporter's) node scopes, for readable graphs.
    private func path(_ scope: String) -> String {
        scope.isEmpty ? "" : "/" + scope.replacingOccurrences(of: ".", with: "/").replacingOccurrences(
            of: #"/(\d+)"#, with: ".$1", options: .regularExpression)
    }

    // MARK: Nodes

    /// Adds an `op` node reading `inputs` and returns its `outputs` new values (named after the node).
    @discardableResult
    func add(
        _ op: String, _ inputs: [String], outputs: Int = 1, attributes: [ONNXAttributeProto] = [], scope: String
    ) -> [String] {
        let name = unique("\(path(scope))/\(op)")
        var node = ONNXNodeProto()
        node.opType = op
        node.name = name
        node.input = inputs
        node.output = (0..<outputs).map { "\(name)_output_\($0)" }
        node.attribute = attributes
        nodes.append(node)
        return node.output
    }

    /// Adds a single-output node.
    func add1(_ op: String, _ inputs: [String], attributes: [ONNXAttributeProto] = [], scope: String) -> String {
        add(op, inputs, attributes: attributes, scope: scope)[0]
    }

    /// Converts `x` to the element type `type`.
    func cast(_ x: String, to type: ONNXTensorProto.DataType, scope: String) -> String {
        add1("Cast", [x], attributes: [.int("to", type.rawValue)], scope: scope)
    }

    /// Renames the value `old` (a node's output) to `new`, so that a graph output gets its public name.
    func rename(_ old: String, to new: String) {
        for i in nodes.indices {
            nodes[i].output = nodes[i].output.map { $0 == old ? new : $0 }
            nodes[i].input = nodes[i].input.map { $0 == old ? new : $0 }
        }
    }

    // MARK: Initializers

    /// A weight as an initializer named by its state-dict name, in the graph's float type.
    func weight(_ tensor: Tensor, name: String) throws -> String {
        let converted = try tensor.detach().to(floatType == .float16 ? .float16 : .float32)
        return append(name: name, type: floatType, shape: tensor.shape, bytes: try converted.bytes())
    }

    /// A float constant in the graph's float type (anchors, strides, 0.5 …).
    func floats(_ values: [Float], shape: [Int], scope: String) -> String {
        if floatType == .float16 {
            let bytes = values.flatMap { Float16($0).littleEndianBytes }
            return constant(scope, type: .float16, shape: shape, bytes: bytes)
        }
        return constant(scope, type: .float, shape: shape, bytes: values.flatMap(\.littleEndianBytes))
    }

    /// A float32 constant, for inputs that are float32 whatever the model's type (Resize's scales).
    func float32s(_ values: [Float], scope: String) -> String {
        constant(scope, type: .float, shape: [values.count], bytes: values.flatMap(\.littleEndianBytes))
    }

    /// A 1-D int64 constant (shapes, axes, split sizes), or a scalar when `scalar`.
    func int64s(_ values: [Int], scalar: Bool = false, scope: String) -> String {
        let bytes = values.flatMap { Int64($0).littleEndianBytes }
        return constant(scope, type: .int64, shape: scalar ? [] : [values.count], bytes: bytes)
    }

    private func constant(_ scope: String, type: ONNXTensorProto.DataType, shape: [Int], bytes: [UInt8]) -> String {
        append(name: unique("\(path(scope))/Constant_output"), type: type, shape: shape, bytes: bytes)
    }

    private func append(name: String, type: ONNXTensorProto.DataType, shape: [Int], bytes: [UInt8]) -> String {
        var tensor = ONNXTensorProto()
        tensor.name = name
        tensor.dataType = Int32(type.rawValue)
        tensor.dims = shape.map(Int64.init)
        tensor.rawData = Data(bytes)
        initializers.append(tensor)
        return name
    }

    // MARK: Ops whose spelling depends on the opset

    /// Splits `x` along `axis` into parts of `sizes` (the sizes are an attribute before opset 13, an input after).
    func split(_ x: String, sizes: [Int], axis: Int, scope: String) -> [String] {
        if opset < 13 {
            let attributes: [ONNXAttributeProto] = [.int("axis", axis), .ints("split", sizes)]
            return add("Split", [x], outputs: sizes.count, attributes: attributes, scope: scope)
        }
        let inputs = [x, int64s(sizes, scope: scope)]
        return add("Split", inputs, outputs: sizes.count, attributes: [.int("axis", axis)], scope: scope)
    }

    /// Softmax over the last axis: the one axis on which opsets before 13 (which flatten from `axis` on) and
    /// after agree.
    func softmaxLastAxis(_ x: String, scope: String) -> String {
        add1("Softmax", [x], attributes: [.int("axis", -1)], scope: scope)
    }

    /// Nearest-neighbour upsampling by `scale`, as PyTorch's `nn.Upsample` (asymmetric coordinates, floor).
    func upsampleNearest(_ x: String, scale: Int, scope: String) -> String {
        let roi = constant(scope, type: .float, shape: [0], bytes: [])  // required before opset 13, ignored here
        let scales = float32s([1, 1, Float(scale), Float(scale)], scope: scope)
        return add1(
            "Resize", [x, roi, scales],
            attributes: [
                .string("coordinate_transformation_mode", "asymmetric"), .string("mode", "nearest"),
                .string("nearest_mode", "floor"),
            ], scope: scope)
    }
}

// MARK: Attributes

extension ONNXAttributeProto {
    static func int(_ name: String, _ value: Int) -> Self {
        var a = Self()
        (a.name, a.type, a.i) = (name, .int, Int64(value))
        return a
    }
    static func ints(_ name: String, _ values: [Int]) -> Self {
        var a = Self()
        (a.name, a.type, a.ints) = (name, .ints, values.map(Int64.init))
        return a
    }
    static func string(_ name: String, _ value: String) -> Self {
        var a = Self()
        (a.name, a.type, a.s) = (name, .string, Data(value.utf8))
        return a
    }
}

// MARK: Little-endian bytes

extension FixedWidthInteger {
    fileprivate var littleEndianBytes: [UInt8] { withUnsafeBytes(of: littleEndian) { Array($0) } }
}
extension Float {
    fileprivate var littleEndianBytes: [UInt8] { bitPattern.littleEndianBytes }
}
extension Float16 {
    fileprivate var littleEndianBytes: [UInt8] { bitPattern.littleEndianBytes }
}
