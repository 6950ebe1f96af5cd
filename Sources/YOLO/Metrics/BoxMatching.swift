import Torch

/// A box by its corners, in pixels: (x1, y1) top left, (x2, y2) bottom right.
public struct BoundingBox: Equatable, Hashable, Sendable, Codable {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public init(x1: Float, y1: Float, x2: Float, y2: Float) {
        (self.x1, self.y1, self.x2, self.y2) = (x1, y1, x2, y2)
    }
    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
}

/// One detection: a box, its confidence and its class.
public struct Detection: Equatable, Sendable, Codable {
    public var box: BoundingBox
    public var confidence: Float
    public var classIndex: Int
    public init(box: BoundingBox, confidence: Float, classIndex: Int) {
        (self.box, self.confidence, self.classIndex) = (box, confidence, classIndex)
    }

    /// The rows of an (n, ≥ 6) tensor of x1, y1, x2, y2, conf, class, as NMS returns them.
    public static func rows(of tensor: Tensor) throws -> [Detection] {
        let shape = tensor.shape
        guard shape.count == 2, shape[1] >= 6 else {
            throw TorchError("detections must be an (n, 6) tensor of x1, y1, x2, y2, conf, class; got \(shape)")
        }
        let v = try tensor.toArray(Float.self), w = shape[1]
        return (0..<shape[0]).map { i in
            let r = i * w
            return Detection(
                box: BoundingBox(x1: v[r], y1: v[r + 1], x2: v[r + 2], y2: v[r + 3]), confidence: v[r + 4],
                classIndex: Int(v[r + 5]))
        }
    }
}

/// A ground-truth object: a box and its class.
public struct LabeledBox: Equatable, Sendable, Codable {
    public var box: BoundingBox
    public var classIndex: Int
    public init(box: BoundingBox, classIndex: Int) { (self.box, self.classIndex) = (box, classIndex) }

    /// Objects from an (m, 4) tensor of x1, y1, x2, y2 and an (m,) or (m, 1) tensor of classes.
    public static func rows(boxes: Tensor, classes: Tensor) throws -> [LabeledBox] {
        let b = try boxes.toArray(Float.self), c = try classes.toArray(Float.self)
        guard b.count == 4 * c.count else {
            throw TorchError("ground truth: \(boxes.shape) boxes do not match \(classes.shape) classes")
        }
        return c.indices.map { i in
            LabeledBox(
                box: BoundingBox(x1: b[4 * i], y1: b[4 * i + 1], x2: b[4 * i + 2], y2: b[4 * i + 3]),
                classIndex: Int(c[i]))
        }
    }
}

/// The IoU thresholds of mAP50-95, 0.50:0.05:0.95, as the float32 values of the reference's
/// `torch.linspace(0.5, 0.95, 10)`.
public let mapIoUThresholds: [Float] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]

/// IoU of every box of `a` (rows) with every box of `b` (columns), as the reference's `box_iou`: float32,
/// inter / (area a + area b - inter + eps).
public func boxIoU(_ a: [BoundingBox], _ b: [BoundingBox], eps: Float = 1e-7) -> [[Float]] {
    a.map { p in
        let areaP = p.width * p.height
        return b.map { q in
            let w = max(min(p.x2, q.x2) - max(p.x1, q.x1), 0)
            let h = max(min(p.y2, q.y2) - max(p.y1, q.y1), 0)
            let inter = w * h
            return inter / (areaP + q.width * q.height - inter + eps)
        }
    }
}

/// Which predictions are correct at each IoU threshold, as the reference's `match_predictions` (greedy, unique):
/// predictions, taken in the given order (descending confidence, as NMS returns them), each claim the unclaimed
/// ground-truth object of their class with the highest IoU, separately at every threshold, and are correct when that
/// IoU reaches the threshold. `iou` is ground truth (rows) × predictions (columns). Returns predictions × thresholds.
public func matchPredictions(
    predictedClasses: [Int], trueClasses: [Int], iou: [[Float]], thresholds: [Float] = mapIoUThresholds
) -> [[Bool]] {
    let t = thresholds.count
    var correct = [[Bool]](repeating: [Bool](repeating: false, count: t), count: predictedClasses.count)
    guard !trueClasses.isEmpty, !predictedClasses.isEmpty, let lowest = thresholds.min() else { return correct }
    // IoU with the wrong class is zero (a product, as the reference's `iou * correct_class`).
    let iou = trueClasses.indices.map { g in
        predictedClasses.indices.map { p in iou[g][p] * (trueClasses[g] == predictedClasses[p] ? 1 : 0) }
    }
    var claimed = [[Bool]](repeating: [Bool](repeating: false, count: t), count: trueClasses.count)
    for j in predictedClasses.indices where trueClasses.indices.contains(where: { iou[$0][j] >= lowest }) {
        for k in 0..<t {
            var best = 0, bestIoU: Float = claimed[0][k] ? 0 : iou[0][j]
            for g in trueClasses.indices.dropFirst() {
                let value: Float = claimed[g][k] ? 0 : iou[g][j]
                if value > bestIoU {
                    (best, bestIoU) = (g, value)
                }
            }
            if bestIoU >= thresholds[k] {
                correct[j][k] = true
                claimed[best][k] = true
            }
        }
    }
    return correct
}
