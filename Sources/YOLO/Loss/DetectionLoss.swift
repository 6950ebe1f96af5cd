import Torch

/// Loss gains, with the reference's names and defaults.
public struct LossGains: Sendable {
    public var box = 7.5, cls = 0.5, dfl = 1.5
    public init(box: Double = 7.5, cls: Double = 0.5, dfl: Double = 1.5) { (self.box, self.cls, self.dfl) = (box, cls, dfl) }
}

/// The loss of one batch: `total` (to back-propagate) = the sum of its named parts (after gains) × batch size. The
/// names are the task's (detect: box_loss, cls_loss, dfl_loss; segment adds seg_loss and sem_loss), in the
/// reference's order, so the progress bar, results.csv and loggers follow them.
public struct LossResult {
    public let total: Tensor
    public let names: [String]
    public let items: [Double]
    public let assignment: Assignment

    init(parts: [(String, Tensor)], batch: Int, assignment: Assignment) throws {
        total = try parts.dropFirst().reduce(parts[0].1) { try $0 + $1.1 } * Double(batch)
        names = parts.map(\.0)
        items = try parts.map { try $0.1.item() }
        self.assignment = assignment
    }

    public func item(_ name: String) -> Double? { names.firstIndex(of: name).map { items[$0] } }
    public var box: Double { item("box_loss") ?? 0 }
    public var cls: Double { item("cls_loss") ?? 0 }
    public var dfl: Double { item("dfl_loss") ?? 0 }
}

/// The detection terms of a batch, each after its gain, the assignment behind them, and the anchors (grid units,
/// (anchors, 2)) and their strides ((anchors, 1)): what task losses build theirs on.
struct DetectionTerms {
    let box: Tensor, cls: Tensor, dfl: Tensor
    let assignment: Assignment
    let anchors: Tensor, strides: Tensor
}

/// YOLOv8's detection loss: task-aligned assignment, CIoU and distribution focal loss on the foreground weighted by
/// the target scores, and BCE over every class logit, each normalised by the sum of target scores.
public struct DetectionLoss {
    public let classes: Int, regMax: Int
    public let strides: [Double]
    public var gains: LossGains
    public var assigner: TaskAlignedAssigner

    public init(classes: Int, strides: [Double], regMax: Int = 16, gains: LossGains = LossGains()) {
        (self.classes, self.strides, self.regMax, self.gains) = (classes, strides, regMax, gains)
        assigner = TaskAlignedAssigner(classes: classes, strides: strides)
    }

    public init(model: DetectionModel, gains: LossGains = LossGains()) {
        self.init(classes: model.classCount, strides: model.strides, regMax: model.detect.regMax, gains: gains)
    }

    /// - Parameters: `head` the model's raw outputs; `targets` (n, 6): image index, class, cx, cy, w, h normalised
    ///   to the batch's image size.
    public func callAsFunction(_ head: HeadOutput, targets: Tensor) throws -> LossResult {
        try callAsFunction(
            boxes: head.boxes, scores: head.scores, featureSizes: head.features.map { ($0.size(2), $0.size(3)) },
            targets: targets)
    }

    /// The same from raw tensors: `boxes` (b, 4·regMax, anchors) logits, `scores` (b, nc, anchors) logits.
    public func callAsFunction(boxes: Tensor, scores: Tensor, featureSizes: [(Int, Int)], targets: Tensor) throws
        -> LossResult
    {
        let t = try terms(boxes: boxes, scores: scores, featureSizes: featureSizes, targets: targets)
        return try LossResult(
            parts: [("box_loss", t.box), ("cls_loss", t.cls), ("dfl_loss", t.dfl)], batch: scores.size(0),
            assignment: t.assignment)
    }

    func terms(boxes: Tensor, scores: Tensor, featureSizes: [(Int, Int)], targets: Tensor) throws -> DetectionTerms {
        let batch = scores.size(0)
        let predictedDistributions = try boxes.permute(0, 2, 1).contiguous()  // (b, a, 4·regMax)
        let predictedScores = try scores.permute(0, 2, 1).contiguous()  // (b, a, nc)
        let grid = featureSizes.map { try! Tensor.zeros([1, 1, $0.0, $0.1], dtype: scores.dtype, device: scores.device) }
        let (anchors, strideColumn) = try makeAnchors(grid, strides: strides)
        let imageHeight = Double(featureSizes[0].0) * strides[0], imageWidth = Double(featureSizes[0].1) * strides[0]

        let (labels, gtBoxes, mask) = try padTargets(targets, batch: batch, width: imageWidth, height: imageHeight, device: scores.device)
        let predictedBoxes = try decode(anchors: anchors, distributions: predictedDistributions)  // grid units
        let assignment = try assigner(
            scores: predictedScores.detach().sigmoid(), predictedBoxes: predictedBoxes.detach() * strideColumn,
            anchors: anchors * strideColumn, labels: labels, boxes: gtBoxes, mask: mask)

        let scoreSum = try Swift.max(assignment.scores.sum().item(), 1)
        let cls = try predictedScores.binaryCrossEntropyWithLogits(assignment.scores.to(predictedScores.dtype), reduction: .sum) / scoreSum
        let (box, dfl) = try boxLosses(
            distributions: predictedDistributions, predictedBoxes: predictedBoxes, anchors: anchors,
            targetBoxes: assignment.boxes / strideColumn, assignment: assignment, scoreSum: scoreSum)

        return DetectionTerms(
            box: try box * gains.box, cls: try cls * gains.cls, dfl: try dfl * gains.dfl, assignment: assignment,
            anchors: anchors, strides: strideColumn)
    }

    /// Expected distances (softmax over the bins) turned into xyxy boxes, in grid units.
    func decode(anchors: Tensor, distributions: Tensor) throws -> Tensor {
        let (b, a) = (distributions.size(0), distributions.size(1))
        let bins = try Tensor.arange(0, Double(regMax), dtype: distributions.dtype, device: distributions.device)
        let distances = try distributions.view(b, a, 4, regMax).softmax(dim: 3).matmul(bins)
        return try distancesToBoxes(distances, anchors: anchors, xywh: false)
    }

    /// CIoU loss and distribution focal loss over foreground anchors, weighted by their target score.
    func boxLosses(
        distributions: Tensor, predictedBoxes: Tensor, anchors: Tensor, targetBoxes: Tensor, assignment: Assignment,
        scoreSum: Double
    ) throws -> (Tensor, Tensor) {
        let foreground = try assignment.foreground.nonzero()
        let (bi, ai) = (try foreground.select(dim: 1, index: 0), try foreground.select(dim: 1, index: 1))
        let weight = try assignment.scores.index([bi, ai]).sum(dim: -1, keepdim: true)
        let iou = try completeIoU(predictedBoxes.index([bi, ai]), targetBoxes.index([bi, ai]))
        let box = try ((1 - iou) * weight).sum() / scoreSum

        let targetDistances = try boxesToDistances(anchors: anchors, boxes: targetBoxes, maxDistance: Double(regMax - 1))
        let dfl = try distributionFocalLoss(
            distributions.index([bi, ai]).view(-1, regMax), targets: targetDistances.index([bi, ai]))
        return (box, try (dfl * weight).sum() / scoreSum)
    }

    /// Cross entropy against the two bins around each target distance, weighted by proximity; mean over the 4 sides.
    func distributionFocalLoss(_ logits: Tensor, targets: Tensor) throws -> Tensor {
        let target = try targets.clamp(min: 0, max: Double(regMax) - 1 - 0.01)
        let left = try target.to(.int64), right = try left + 1
        let leftWeight = try right.to(target.dtype) - target, rightWeight = try 1 - leftWeight
        let logp = try logits.logSoftmax(dim: 1)
        let l = try logp.gather(dim: 1, index: left.view(-1, 1)).view(left.shape)
        let r = try logp.gather(dim: 1, index: right.view(-1, 1)).view(left.shape)
        return try -(l * leftWeight + r * rightWeight).mean(dim: -1, keepdim: true)
    }

    /// Targets (n, 6) → per-image padded labels (b, m, 1), xyxy pixel boxes (b, m, 4) and a real-box mask (b, m, 1).
    func padTargets(_ targets: Tensor, batch: Int, width: Double, height: Double, device: Device) throws
        -> (Tensor, Tensor, Tensor)
    {
        let rows = try targets.to(.float32).toArray(Float.self)
        var perImage = [[ArraySlice<Float>]](repeating: [], count: batch)
        for start in stride(from: 0, to: rows.count, by: 6) {
            let image = Int(rows[start])
            guard image >= 0, image < batch else { throw TorchError("target row names image \(image) of a batch of \(batch)") }
            perImage[image].append(rows[start + 1..<start + 6])
        }
        let m = perImage.map(\.count).max() ?? 0
        var out = [Float](repeating: 0, count: batch * m * 5)
        for (i, boxes) in perImage.enumerated() {
            for (j, r) in boxes.enumerated() {
                // In float32, as the reference computes it.
                let (fw, fh) = (Float(width), Float(height))
                let (cx, cy) = (r[r.startIndex + 1] * fw, r[r.startIndex + 2] * fh)
                let (w, h) = (r[r.startIndex + 3] * fw, r[r.startIndex + 4] * fh)
                let o = (i * m + j) * 5
                out[o] = r[r.startIndex]
                (out[o + 1], out[o + 2]) = (cx - w / 2, cy - h / 2)
                (out[o + 3], out[o + 4]) = (cx + w / 2, cy + h / 2)
            }
        }
        let padded = try Tensor(out, shape: [batch, m, 5]).to(device)
        let parts = try padded.split([1, 4], dim: 2)
        return (parts[0], parts[1], try parts[1].sum(dim: 2, keepdim: true).gt(0))
    }
}
