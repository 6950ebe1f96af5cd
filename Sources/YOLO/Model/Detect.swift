import Foundation
import Torch

/// The head's raw outputs: box distributions (batch, 4·reg_max, anchors), class logits (batch, nc, anchors), and
/// the feature maps they came from (for anchors and strides; channel-blocked in training, see Torch's
/// ChannelBlocked.swift, with height and width at dimensions 2 and 3 either way); and what a task's head adds.
public struct HeadOutput {
    public let boxes: Tensor
    public let scores: Tensor
    public let features: [Tensor]
    /// Segment: mask coefficients (batch, nm, anchors) and prototypes (batch, nm, H/4, W/4).
    public var maskCoefficients: Tensor? = nil
    public var prototypes: Tensor? = nil
    /// Pose: raw keypoints (batch, K·dims, anchors).
    public var keypoints: Tensor? = nil

    /// The branches' outputs in float32 where they are bfloat16 (`half=True` on the CPU), for decoding: box edges
    /// decoded in bfloat16 at 256-512 px lie 2 px apart. Features and prototypes stay as they are.
    func decodedInFloat32() throws -> HeadOutput {
        guard boxes.dtype == .bfloat16 else { return self }
        var output = HeadOutput(boxes: try boxes.to(.float32), scores: try scores.to(.float32), features: features)
        output.maskCoefficients = try maskCoefficients?.to(.float32)
        output.prototypes = prototypes
        output.keypoints = try keypoints?.to(.float32)
        return output
    }
}

/// The anchor-free detection head: per level a box branch (`cv2`) and a class branch (`cv3`), then DFL decoding.
/// Task heads (Segment) extend it with their own branches.
class Detect: Module {
    let cv2: [Sequential]
    let cv3: [Sequential]
    let dfl: DFL
    let nc: Int, regMax: Int
    var stride: [Double]

    init(nc: Int, channels: [Int], regMax: Int = 16) throws {
        let c2 = Swift.max(16, channels[0] / 4, regMax * 4), c3 = Swift.max(channels[0], Swift.min(nc, 100))
        cv2 = try channels.map { try Detect.branch($0, hidden: c2, out: 4 * regMax) }
        cv3 = try channels.map { try Detect.branch($0, hidden: c3, out: nc) }
        dfl = try DFL(bins: regMax)
        (self.nc, self.regMax) = (nc, regMax)
        stride = Array(repeating: 0, count: channels.count)
    }

    /// The task this head serves, and how many channels it adds after the class probabilities in `decode`.
    var task: YOLOTask { .detect }
    var extraChannels: Int { 0 }

    /// One level's branch of a head: two 3×3 Convs and a 1×1 convolution to `out` channels (every head's shape).
    static func branch(_ c: Int, hidden: Int, out: Int) throws -> Sequential {
        Sequential([try Conv(c, hidden, k: 3), try Conv(hidden, hidden, k: 3), try Conv2d(hidden, out, kernelSize: 1)])
    }

    /// A branch over every level, (batch, channels, anchors) with the anchors concatenated P3, P4, P5 (row-major
    /// within a level). Reshaped, not viewed: at inference the maps are channels-last.
    static func levels(_ branches: [Sequential], _ features: [Tensor], channels: Int) throws -> Tensor {
        let b = features[0].size(0)
        return try Tensor.cat(zip(branches, features).map { try $0($1).reshape(b, channels, -1) }, dim: -1)
    }

    /// Raw outputs of both branches over every level.
    func head(_ features: [Tensor]) throws -> HeadOutput {
        HeadOutput(
            boxes: try Detect.levels(cv2, features, channels: 4 * regMax), scores: try Detect.levels(cv3, features, channels: nc),
            features: features)
    }

    /// Decoded predictions (batch, 4 + nc, anchors): box centre x, y, width, height in input pixels, then class
    /// probabilities.
    func decode(_ raw: HeadOutput) throws -> Tensor {
        let (anchors, strides) = try makeAnchors(raw.features, strides: stride)
        let distances = try dfl(raw.boxes)
        let boxes = try distancesToBoxes(distances, anchors: anchors.transpose(0, 1).unsqueeze(0), xywh: true, dim: 1)
        return try Tensor.cat([boxes * strides.transpose(0, 1), raw.scores.sigmoid()], dim: 1)
    }

    /// The reference's bias initialisation: box logits 2.0; class logits for ~5 objects per 640² image over nc classes.
    func initializeBiases() throws {
        try withNoGrad {
            for (i, (box, cls)) in zip(cv2, cv3).enumerated() {
                try (box.layers[2] as! Conv2d).bias!.fill_(2.0)
                let prior = Foundation.log(5 / Double(nc) / Foundation.pow(640 / stride[i], 2))
                try (cls.layers[2] as! Conv2d).bias!.fill_(prior)
            }
        }
    }
}

/// Anchor centres (in grid cells, offset by half a cell) and their strides for every level: (anchors, 2), (anchors, 1).
func makeAnchors(_ features: [Tensor], strides: [Double], offset: Double = 0.5) throws -> (Tensor, Tensor) {
    var points: [Tensor] = [], strideColumns: [Tensor] = []
    for (feature, stride) in zip(features, strides) {
        let (h, w) = (feature.size(2), feature.size(3))
        let options = (dtype: feature.dtype, device: feature.device)
        let sx = try (Tensor.arange(0, Double(w), dtype: options.dtype, device: options.device) + offset).view(1, w).expand([h, w])
        let sy = try (Tensor.arange(0, Double(h), dtype: options.dtype, device: options.device) + offset).view(h, 1).expand([h, w])
        points.append(try Tensor.stack([sx, sy], dim: -1).reshape(-1, 2))
        strideColumns.append(try Tensor.full([h * w, 1], stride, dtype: options.dtype, device: options.device))
    }
    return (try Tensor.cat(points), try Tensor.cat(strideColumns))
}

/// Left-top-right-bottom distances from anchor points to boxes (xywh or xyxy) along `dim`.
func distancesToBoxes(_ distance: Tensor, anchors: Tensor, xywh: Bool = true, dim: Int = -1) throws -> Tensor {
    let parts = try distance.chunk(2, dim: dim)
    let topLeft = try anchors - parts[0], bottomRight = try anchors + parts[1]
    if xywh {
        return try Tensor.cat([(topLeft + bottomRight) / 2, bottomRight - topLeft], dim: dim)
    }
    return try Tensor.cat([topLeft, bottomRight], dim: dim)
}
