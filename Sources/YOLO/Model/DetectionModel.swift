import Foundation
import Torch

/// A YOLOv8 network built from a `ModelSpec`: numbered layers (`model.0` … `model.22`) whose state dict matches
/// the reference's names, shapes and order, ending in the task's head (Detect, Segment).
public final class DetectionModel: Module {
    let model: ModuleList
    let inputs: [[Int]]  // each layer's `from`, made absolute (-1 stays "the previous layer")
    let kept: Set<Int>  // layers whose outputs later layers read
    public let spec: ModelSpec
    public var names: [Int: String]

    public init(spec: ModelSpec, names: [Int: String]? = nil) throws {
        var channels: [Int] = [3]
        var layers: [Module] = []
        var inputs: [[Int]] = []
        for (i, row) in spec.layers.enumerated() {
            func fail(_ what: String) -> ModelError { ModelError("\(spec.source): layer \(i) (\(row.module)): \(what)") }
            func channelsOf(_ f: Int) throws -> Int {
                let index = f < 0 ? channels.count + f : f + (i == 0 ? 0 : 0)
                guard index >= 0, index < channels.count else { throw fail("'from' \(f) names no earlier layer") }
                return channels[index]
            }
            func arg(_ k: Int) -> ConfigValue? {
                guard k < row.args.count else { return nil }
                switch row.args[k] {
                case .string("nc"): return .int(spec.nc)
                case .string("kpt_shape"): return spec.tree["kpt_shape"]
                default: return row.args[k]
                }
            }
            let n = spec.scaledRepeats(row.repeats)
            let c1 = try channelsOf(row.from[0])
            let layer: Module, c2: Int
            switch row.module {
            case "Conv", "C2f", "SPPF":
                guard let requested = arg(0)?.int else { throw fail("first argument must be the output channels") }
                c2 = spec.scaledChannels(requested)
                switch row.module {
                case "C2f":
                    layer = try C2f(c1, c2, n: n, shortcut: arg(1)?.bool ?? false)
                case "SPPF":
                    layer = try SPPF(c1, c2, k: arg(1)?.int ?? 5)
                default:
                    let make = { try Conv(c1, c2, k: arg(1)?.int ?? 1, s: arg(2)?.int ?? 1) }
                    layer = n > 1 ? Single(Sequential(try (0..<n).map { _ in try make() })) : try make()
                }
            case "nn.Upsample":
                c2 = c1
                layer = Single(Upsample(scaleFactor: arg(1)?.int ?? 2))
            case "Concat":
                c2 = try row.from.map(channelsOf).reduce(0, +)
                layer = Concat(dimension: arg(0)?.int ?? 1)
            case "Detect":
                c2 = 0
                layer = try Detect(nc: spec.nc, channels: try row.from.map(channelsOf))
            case "Segment":
                c2 = 0
                // The reference scales the prototype width (args[2]) like any channel count.
                layer = try Segment(
                    nc: spec.nc, masks: arg(1)?.int ?? 32, prototypeChannels: spec.scaledChannels(arg(2)?.int ?? 256),
                    channels: try row.from.map(channelsOf))
            case "Pose":
                c2 = 0
                guard let shape = arg(1)?.list?.compactMap(\.int), shape.count == 2, shape[0] > 0, [2, 3].contains(shape[1])
                else { throw fail("kpt_shape must be [keypoints, 2 or 3], got \(arg(1)?.description ?? "nothing")") }
                layer = try Pose(nc: spec.nc, keypointShape: (shape[0], shape[1]), channels: try row.from.map(channelsOf))
            default:
                throw fail("unsupported module (this build knows Conv, C2f, SPPF, nn.Upsample, Concat, Detect, Segment, Pose)")
            }
            if i == 0 { channels = [] }
            channels.append(c2)
            layers.append(layer)
            inputs.append(row.from.map { $0 == -1 || $0 >= 0 ? $0 : i + $0 })
        }
        guard layers.last is Detect else { throw ModelError("\(spec.source): the last layer must be a head (Detect, Segment, Pose)") }
        model = ModuleList(layers)
        self.inputs = inputs
        kept = Set(inputs.flatMap { $0 }.filter { $0 >= 0 })
        self.spec = spec
        self.names = names ?? Dictionary(uniqueKeysWithValues: (0..<spec.nc).map { ($0, "class\($0)") })
        super.init()
        try computeStrides()
        try detect.initializeBiases()
    }

    var detect: Detect { model.modules.last as! Detect }
    public var strides: [Double] { detect.stride }
    public var classCount: Int { detect.nc }
    /// What the head does: detect, segment.
    public var task: YOLOTask { detect.task }

    /// Whether inference on the CPU runs channels-last (the default; false: NCHW throughout, as the reference).
    public var channelsLastInference = true

    /// Runs every layer and returns the head's raw outputs (what the loss consumes).
    public func forwardRaw(_ x: Tensor) throws -> HeadOutput {
        var outputs = [Tensor?](repeating: nil, count: model.count)
        // Inference on the CPU runs channels-last: oneDNN's convolutions then read and write the feature maps as they
        // are, instead of converting each to and from NCHW (measured: 10-15% of a predict at 640 on 2 cores).
        var previous = x
        if !isTraining && x.device == .cpu && x.ndim == 4 {
            previous = try channelsLastInference ? x.contiguousChannelsLast() : x.contiguous()
        }
        for (i, layer) in model.modules.enumerated() {
            let arguments = try inputs[i].map { j -> Tensor in
                if j == -1 { return previous }
                guard let kept = outputs[j] else { throw ModelError("layer \(i) reads layer \(j), which has no output") }
                return kept
            }
            if let head = layer as? Detect { return try head.head(arguments) }
            previous = try (layer as! ModelLayer).forward(arguments)
            if kept.contains(i) { outputs[i] = previous }
        }
        throw ModelError("model has no Detect layer")
    }

    /// Decoded predictions (batch, 4 + nc + extra, anchors): xywh boxes in input pixels, class probabilities, then
    /// what the task adds (Segment: 32 mask coefficients; its prototypes come from `predict`).
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try detect.decode(forwardRaw(x).decodedInFloat32()) }

    /// Decoded predictions and the task's extra outputs (Segment: the prototypes). A bfloat16 model's predictions are
    /// decoded in float32.
    public func predict(_ x: Tensor) throws -> (output: Tensor, raw: HeadOutput) {
        let raw = try forwardRaw(x)
        return (try detect.decode(raw.decodedInFloat32()), raw)
    }

    /// Strides of the detection levels, from a forward pass on a blank 256×256 image (as the reference does).
    private func computeStrides() throws {
        let size = 256.0
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        let features = try withNoGrad { try forwardRaw(try Tensor.zeros([1, 3, Int(size), Int(size)])).features }
        detect.stride = features.map { size / Double($0.size(2)) }
    }

    /// Folds every batch norm into its convolution, for faster inference; the outputs stay the same.
    public func fuse() throws {
        for (_, module) in namedModules() { try (module as? Conv)?.fuse() }
    }
    public var isFused: Bool { !namedModules().contains { ($0.1 as? Conv)?.bn != nil } }
}
