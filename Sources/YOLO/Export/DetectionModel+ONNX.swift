import Foundation
import SwiftProtobuf
import Torch

/// ONNX export: the model's forward written as an ONNX graph, with the reference's input and output names
/// (`images` (batch, 3, height, width) → `output0` (batch, 4 + nc, anchors)) and metadata, so that programs that
/// consume the reference's exports take ours.
extension DetectionModel {
    /// Writes the model as an ONNX file at `url` (atomically). The model itself is left as it is: a fused copy
    /// is exported.
    public func exportONNX(to url: URL, options: ExportOptions = ExportOptions()) throws {
        let data: Data = try onnxModel(options).serializedBytes()
        do {
            try DurableFile.write(data, to: url)
        } catch {
            throw ExportError("\(error)")
        }
    }

    /// The ONNX model for `options`.
    func onnxModel(_ options: ExportOptions) throws -> ONNXModelProto {
        let opset = try options.resolvedOpset()
        let maxStride = Int(strides.max() ?? 32)
        let size = try options.validatedImageSize(stride: maxStride)
        let source = try isFused ? self : fusedCopy()
        let graph = ONNXGraphBuilder(opset: opset, half: options.half)
        try withNoGrad { try source.emitGraph(graph, options: options, size: size) }

        typealias Dimension = ONNXValueInfoProto.Dimension
        let anchors = strides.reduce(0) { $0 + (size.height / Int($1)) * (size.width / Int($1)) }
        let channels = 4 + classCount + detect.extraChannels
        let (inputShape, outputShape): ([Dimension], [Dimension]) =
            options.dynamic
            ? ([.named("batch"), .fixed(3), .named("height"), .named("width")],
                [.named("batch"), .fixed(channels), .named("anchors")])
            : ([options.batch, 3, size.height, size.width].map(Dimension.fixed),
                [options.batch, channels, anchors].map(Dimension.fixed))
        var body = ONNXGraphProto()
        body.name = "swift-yolo"
        body.node = graph.nodes
        body.initializer = graph.initializers
        body.input = [.tensor("images", inputShape)]
        body.output = [.tensor("output0", outputShape)]
        if let segment = detect as? Segment {  // the prototypes at stride 4, as the reference's output1
            body.output.append(.tensor("output1", options.dynamic
                ? [.named("batch"), .fixed(segment.nm), .named("mask_height"), .named("mask_width")]
                : [options.batch, segment.nm, size.height / 4, size.width / 4].map(Dimension.fixed)))
        }

        var model = ONNXModelProto()
        model.irVersion = Self.irVersion(opset: opset)
        var opsetID = ONNXOperatorSetIdProto()
        (opsetID.domain, opsetID.version) = ("", Int64(opset))
        model.opsetImport = [opsetID]
        model.producerName = "swift-yolo"
        model.graph = body
        let metadata = onnxMetadata(options: options, opset: opset, size: size, stride: maxStride)
        model.metadataProps = metadata.map { key, value in
            var entry = ONNXStringStringEntryProto()
            (entry.key, entry.value) = (key, value)
            return entry
        }
        return model
    }

    /// The nodes of the forward, from `images` to `output0`.
    private func emitGraph(_ graph: ONNXGraphBuilder, options: ExportOptions, size: (height: Int, width: Int)) throws {
        // A half model keeps fp32 input and output (as the reference's CPU export): cast at both ends.
        var previous = options.half ? graph.cast("images", to: graph.floatType, scope: "") : "images"
        var outputs = [String?](repeating: nil, count: model.count)
        for (i, layer) in model.modules.enumerated() {
            let arguments = try inputs[i].map { j -> String in
                if j == -1 { return previous }
                guard let kept = outputs[j] else {
                    throw ExportError("layer \(i) reads layer \(j), which has no output")
                }
                return kept
            }
            if let head = layer as? Detect {
                let anchors: ONNXAnchors =
                    options.dynamic ? .fromFeatures : .fixed(height: size.height, width: size.width)
                let results = try head.emitOutputs(arguments, into: graph, scope: "model.\(i)", anchors: anchors)
                for (k, result) in results.enumerated() {
                    graph.rename(options.half ? graph.cast(result, to: .float, scope: "") : result, to: "output\(k)")
                }
                return
            }
            guard let emitting = layer as? ONNXEmitting else {
                throw ExportError("layer \(i) (\(type(of: layer))) cannot be exported to ONNX")
            }
            previous = try emitting.emit(arguments, into: graph, scope: "model.\(i)")
            if kept.contains(i) { outputs[i] = previous }
        }
        throw ExportError("model has no Detect layer")
    }

    /// A fused copy: the same weights in a new model, batch norms folded (the reference exports a fused deep copy).
    private func fusedCopy() throws -> DetectionModel {
        let copy = try DetectionModel(spec: spec, names: names)
        try copy.loadStateDict(stateDict())
        try copy.fuse()
        copy.eval()
        return copy
    }

    /// The IR version that ONNX releases pair with each opset (onnx.helper.VERSION_TABLE), capped at 10 as the
    /// reference does for ONNX Runtime.
    static func irVersion(opset: Int) -> Int64 {
        switch opset {
        case ...14: 7
        case 15...18: 8
        case 19...20: 9
        default: 10
        }
    }
}

extension ONNXValueInfoProto {
    /// A dimension of a graph input or output: a number, or a name for a free dimension.
    enum Dimension {
        case fixed(Int)
        case named(String)
    }

    /// A float32 tensor value of shape `dimensions`.
    static func tensor(_ name: String, _ dimensions: [Dimension]) -> Self {
        var shape = ONNXTensorShapeProto()
        shape.dim = dimensions.map { dimension in
            var d = ONNXTensorShapeProto.Dimension()
            switch dimension {
            case .fixed(let n): d.dimValue = Int64(n)
            case .named(let name): d.dimParam = name
            }
            return d
        }
        var tensor = ONNXTypeProto.Tensor()
        tensor.elemType = Int32(ONNXTensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var value = Self()
        value.name = name
        value.type.tensorType = tensor
        return value
    }
}
