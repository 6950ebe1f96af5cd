import Torch

/// What `info()` reports: the reference's summary line.
public struct ModelInfo: Sendable, CustomStringConvertible {
    public let layers: Int
    public let parameters: Int
    public let gradients: Int
    public let gflops: Double
    public let fused: Bool
    public let name: String

    public var description: String {
        let number = { (n: Int) in n.formatted(.number.grouping(.automatic)) }
        return "\(name) summary\(fused ? " (fused)" : ""): \(layers) layers, \(number(parameters)) parameters, "
            + "\(number(gradients)) gradients, \(String(format: "%.1f", gflops)) GFLOPs"
    }
}

extension DetectionModel {
    /// Layers, parameters, trainable parameters and GFLOPs at `imageSize`, counted as the reference does: layers are
    /// leaf modules (plus the one SiLU instance all its Conv blocks share), GFLOPs are 2 × thop's operation count
    /// (convolution multiply-accumulates, 4 per batch-norm output element, the DFL convolution).
    public func info(imageSize: Int = 640) throws -> ModelInfo {
        let parameters = self.parameters()
        return ModelInfo(
            layers: namedModules().filter { $0.1.children.isEmpty }.count + 1, parameters: parameters.map(\.numel).reduce(0, +),
            gradients: parameters.filter(\.requiresGrad).map(\.numel).reduce(0, +), gflops: try gflops(imageSize: imageSize),
            fused: isFused, name: "YOLOv8\(spec.scale ?? "")")
    }

    /// Profiles at the largest stride (a tiny image) and scales up, as the reference does.
    func gflops(imageSize: Int) throws -> Double {
        let stride = Int(strides.max() ?? 32)
        let convs = namedModules().compactMap { $0.1 as? Conv }
        for conv in convs { conv.countedFlops = 0 }
        defer { for conv in convs { conv.countedFlops = nil } }
        let raw = try withNoGrad { try forwardRaw(try Tensor.zeros([1, 3, stride, stride])) }
        var flops = convs.compactMap(\.countedFlops).reduce(0, +)
        // The head's final 1×1 convolutions are plain Conv2d: count them from the feature map sizes.
        for (branches, feature) in [detect.cv2, detect.cv3].flatMap({ zip($0, raw.features).map { $0 } }) {
            let last = branches.layers[2] as! Conv2d
            flops += 2 * Double(feature.size(2) * feature.size(3)) * Double(last.weight.numel)
        }
        let anchors = raw.features.map { $0.size(2) * $0.size(3) }.reduce(0, +)
        flops += 2 * Double(anchors * 4 * detect.regMax)  // DFL's 1×1 convolution
        return flops * Double(imageSize * imageSize) / Double(stride * stride) / 1e9
    }
}
