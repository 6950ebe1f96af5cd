import Torch

/// The COCO keypoints' OKS sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles), as the
/// reference's `OKS_SIGMA`.
public let cocoKeypointSigmas: [Float] = [
    0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
].map { $0 / 10 }

/// The OKS sigmas for `kpt_shape`: COCO's for [17, 3], else 1/K each (the reference's rule).
public func keypointSigmas(_ shape: (count: Int, dims: Int)) -> [Float] {
    shape.count == 17 && shape.dims == 3 ? cocoKeypointSigmas : [Float](repeating: 1 / Float(shape.count), count: shape.count)
}

/// YOLOv8's pose loss, as the reference's `v8PoseLoss`: the detection terms and, over foreground anchors,
/// `pose_loss` (1 − exp(−d² / (2·(2σ)²·area)) per visible keypoint, in grid units, weighted by K / visible) times
/// the `pose` gain, and `kobj_loss` (BCE of the visibility logits against visible) times the `kobj` gain.
public struct PoseLoss {
    public var detection: DetectionLoss
    public let keypointShape: (count: Int, dims: Int)
    public let sigmas: [Float]
    public var poseGain: Double, kobjGain: Double

    public init(
        detection: DetectionLoss, keypointShape: (count: Int, dims: Int), sigmas: [Float]? = nil, poseGain: Double = 12,
        kobjGain: Double = 1
    ) throws {
        let sigmas = sigmas ?? keypointSigmas(keypointShape)
        guard sigmas.count == keypointShape.count, sigmas.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("'kpt_oks_sigmas' must be \(keypointShape.count) positive values, got \(sigmas)")
        }
        (self.detection, self.keypointShape, self.sigmas) = (detection, keypointShape, sigmas)
        (self.poseGain, self.kobjGain) = (poseGain, kobjGain)
    }

    /// - Parameters: `keypoints` (b, K·dims, anchors) the head's raw keypoints; `targets` (n, 6) as for detection;
    ///   `keypointTargets` (n, K, 2 or 3): x, y normalized to the image, visibility.
    public func callAsFunction(
        boxes: Tensor, scores: Tensor, keypoints: Tensor, featureSizes: [(Int, Int)], targets: Tensor,
        keypointTargets: Tensor
    ) throws -> LossResult {
        let t = try detection.terms(boxes: boxes, scores: scores, featureSizes: featureSizes, targets: targets)
        let (b, a) = (keypoints.size(0), keypoints.size(2))
        let (k, dims) = keypointShape
        // (b, anchors, K, dims), x and y decoded to grid units: 2·raw + anchor − 0.5.
        let raw = try keypoints.permute(0, 2, 1).contiguous().view(b, a, k, dims)
        let xy = try raw.slice(dim: 3, end: 2) * 2 + (t.anchors.view(1, a, 1, 2) - 0.5)
        let predicted = dims == 3 ? try Tensor.cat([xy, raw.slice(dim: 3, start: 2)], dim: 3) : xy
        var pose: Tensor, kobj: Tensor
        let foreground = t.assignment.foreground
        if try foreground.sum().item() > 0 {
            let image = (
                height: Double(featureSizes[0].0) * detection.strides[0], width: Double(featureSizes[0].1) * detection.strides[0])
            (pose, kobj) = try keypointTerms(
                terms: t, predicted: predicted, targets: targets, keypointTargets: keypointTargets, batch: b, image: image)
        } else {
            (pose, kobj) = (try predicted.sum() * 0, try predicted.sum() * 0)  // keeps the branch in the graph
        }
        return try LossResult(
            parts: [("box_loss", t.box), ("pose_loss", pose * poseGain), ("kobj_loss", kobj * kobjGain),
                    ("cls_loss", t.cls), ("dfl_loss", t.dfl)],
            batch: b, assignment: t.assignment)
    }

    func keypointTerms(
        terms t: DetectionTerms, predicted: Tensor, targets: Tensor, keypointTargets: Tensor, batch: Int,
        image: (height: Double, width: Double)
    ) throws -> (Tensor, Tensor) {
        let (k, dims) = keypointShape
        let device = predicted.device
        // Ground truth per image, padded: (b, most objects, K, 3) in pixels, visibility 1 when the labels have none.
        let rows = try targets.select(dim: 1, index: 0).to(.float32).to(.cpu).toArray(Float.self).map(Int.init)
        var points = try keypointTargets.to(.float32).to(.cpu).contiguous().toArray(Float.self)
        let given = keypointTargets.size(2)
        var counts = [Int](repeating: 0, count: batch)
        for r in rows { counts[r] += 1 }
        let most = counts.max() ?? 0
        var padded = [Float](repeating: 0, count: batch * most * k * 3)
        var slot = [Int](repeating: 0, count: batch)
        for (n, owner) in rows.enumerated() {
            let base = ((owner * most) + slot[owner]) * k * 3
            slot[owner] += 1
            for j in 0..<k {
                let p = (n * k + j) * given
                padded[base + j * 3] = points[p] * Float(image.width)
                padded[base + j * 3 + 1] = points[p + 1] * Float(image.height)
                padded[base + j * 3 + 2] = given == 3 ? points[p + 2] : 1
            }
        }
        points = []
        let truth = try Tensor(padded, shape: [batch, most, k, 3]).to(device)

        let fg = try t.assignment.foreground.nonzero()
        let (bi, ai) = (try fg.select(dim: 1, index: 0), try fg.select(dim: 1, index: 1))
        let stride = try t.strides.view(-1).indexSelect(dim: 0, index: ai).view(-1, 1, 1)  // (n, 1, 1)
        let matched = try truth.index([bi, t.assignment.groundTruthIndex.index([bi, ai])])  // (n, K, 3)
        let gt = try Tensor.cat([matched.slice(dim: 2, end: 2) / stride, matched.slice(dim: 2, start: 2)], dim: 2)
        let box = try t.assignment.boxes.index([bi, ai]) / stride.view(-1, 1)  // (n, 4) grid units
        let corners = try box.split([2, 2], dim: 1)
        let area = try (corners[1] - corners[0]).prod(dims: [1], keepdim: true)  // (n, 1)
        let pred = try predicted.index([bi, ai])  // (n, K, dims)
        let visible = try gt.select(dim: 2, index: 2).ne(0)  // (n, K)
        let mask = try visible.to(pred.dtype)

        let dx = try pred.select(dim: 2, index: 0) - gt.select(dim: 2, index: 0)
        let dy = try pred.select(dim: 2, index: 1) - gt.select(dim: 2, index: 1)
        let distance = try dx.square() + dy.square()
        let factor = try Double(k) / (mask.sum(dim: 1) + 1e-9)
        let sigma = try Tensor(sigmas).to(device: device, dtype: pred.dtype)
        let e = try distance / ((sigma * 2).square() * (area + 1e-9) * 2)
        let pose = try (factor.view(-1, 1) * ((1 - (-e).exp()) * mask)).mean()
        var kobj = try pose * 0
        if dims == 3 { kobj = try pred.select(dim: 2, index: 2).binaryCrossEntropyWithLogits(mask, reduction: .mean) }
        return (pose, kobj)
    }
}

extension PoseLoss: TaskLoss {
    public var names: [String] { ["box_loss", "pose_loss", "kobj_loss", "cls_loss", "dfl_loss"] }
    public func callAsFunction(_ head: HeadOutput, batch: Batch) throws -> LossResult {
        guard let keypoints = head.keypoints, let targets = batch.keypoints else {
            throw TorchError("pose loss: the head output or the batch has no keypoints")
        }
        return try self(
            boxes: head.boxes, scores: head.scores, keypoints: keypoints,
            featureSizes: head.features.map { ($0.size(2), $0.size(3)) }, targets: batch.targets, keypointTargets: targets)
    }
}
