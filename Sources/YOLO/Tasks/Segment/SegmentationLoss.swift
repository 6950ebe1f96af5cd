import Torch

/// YOLOv8's segmentation loss, as the reference's `v8SegmentationLoss`: the detection terms (box, cls, dfl) and
/// `seg_loss`, the BCE between each foreground anchor's mask (its coefficients over the image's prototypes) and
/// its assigned object's mask, cropped to the object's box, averaged over the box's pixels and divided by the
/// box's area fraction, summed and normalised by the foreground count, times the box gain. `sem_loss` is the
/// reference's semantic-branch term, which YOLOv8-seg has no branch for: always 0, logged so the columns match.
public struct SegmentationLoss {
    public var detection: DetectionLoss
    /// Masks as one index map per image (0 background, k the image's k-th object), else one mask per object.
    public var overlap: Bool

    public init(detection: DetectionLoss, overlap: Bool = true) { (self.detection, self.overlap) = (detection, overlap) }

    public init(model: DetectionModel, gains: LossGains = LossGains(), overlap: Bool = true) {
        self.init(detection: DetectionLoss(model: model, gains: gains), overlap: overlap)
    }

    /// - Parameters: `head` the model's raw outputs (with coefficients and prototypes); `targets` (n, 6) as for
    ///   detection; `masks` (b, H, W) index maps with `overlap`, else (n, H, W), at any size (resampled to the
    ///   prototypes' as the reference does).
    public func callAsFunction(_ head: HeadOutput, targets: Tensor, masks: Tensor) throws -> LossResult {
        guard let coefficients = head.maskCoefficients, let prototypes = head.prototypes else {
            throw TorchError("segmentation loss: the head output has no mask coefficients or prototypes (not a Segment head)")
        }
        return try callAsFunction(
            boxes: head.boxes, scores: head.scores, maskCoefficients: coefficients, prototypes: prototypes,
            featureSizes: head.features.map { ($0.size(2), $0.size(3)) }, targets: targets, masks: masks)
    }

    /// The same from raw tensors: `maskCoefficients` (b, nm, anchors), `prototypes` (b, nm, h, w).
    public func callAsFunction(
        boxes: Tensor, scores: Tensor, maskCoefficients: Tensor, prototypes: Tensor, featureSizes: [(Int, Int)],
        targets: Tensor, masks: Tensor
    ) throws -> LossResult {
        let t = try detection.terms(boxes: boxes, scores: scores, featureSizes: featureSizes, targets: targets)
        let batch = scores.size(0)
        let coefficients = try maskCoefficients.permute(0, 2, 1).contiguous()  // (b, anchors, nm)
        var proto = prototypes
        let foregroundCount = try t.assignment.foreground.sum().item()
        var seg: Tensor
        if foregroundCount > 0 {
            let groundTruth = try masks.to(device: prototypes.device, dtype: prototypes.dtype)
            if Array(groundTruth.shape.suffix(2)) != Array(proto.shape.suffix(2)) {
                proto = try proto.upsampleBilinear(height: groundTruth.size(-2), width: groundTruth.size(-1))
            }
            let image = (
                height: Double(featureSizes[0].0) * detection.strides[0], width: Double(featureSizes[0].1) * detection.strides[0])
            seg = try segmentationTerm(
                assignment: t.assignment, masks: groundTruth, targets: targets, prototypes: proto,
                coefficients: coefficients, image: image) / foregroundCount
        } else {
            // Keeps both outputs in the graph (the reference's guard for DDP's unused-gradient check).
            seg = try (proto * 0).sum() + (coefficients * 0).sum()
        }
        seg = try seg * detection.gains.box  // the seg gain is the box gain, as the reference
        let semantic = try seg.zerosLike()
        return try LossResult(
            parts: [("box_loss", t.box), ("seg_loss", seg), ("cls_loss", t.cls), ("dfl_loss", t.dfl), ("sem_loss", semantic)],
            batch: batch, assignment: t.assignment)
    }

    /// The sum over images of each foreground anchor's cropped, area-normalised mask BCE.
    func segmentationTerm(
        assignment: Assignment, masks: Tensor, targets: Tensor, prototypes: Tensor, coefficients: Tensor,
        image: (height: Double, width: Double)
    ) throws -> Tensor {
        let (mh, mw) = (prototypes.size(2), prototypes.size(3))
        let options = (device: prototypes.device, dtype: prototypes.dtype)
        func vector(_ a: Double, _ b: Double) throws -> Tensor {
            try Tensor([Float(a), Float(b), Float(a), Float(b)], shape: [4]).to(device: options.device, dtype: options.dtype)
        }
        // As the reference: normalised to the image, then scaled to the mask's pixels.
        let normalized = try assignment.boxes / vector(image.width, image.height)
        let xy = try normalized.split([2, 2], dim: -1)
        let area = try (xy[1] - xy[0]).prod(dims: [2])  // (b, anchors): the box's fraction of the image
        let maskBoxes = try normalized * vector(Double(mw), Double(mh))  // (b, anchors, 4) in mask pixels
        let imageOfTarget = try targets.select(dim: 1, index: 0).to(.int64)
        var total: Tensor?
        for i in 0..<coefficients.size(0) {
            let foreground = try assignment.foreground.select(dim: 0, index: i)
            guard try foreground.any().item() != 0 else { continue }
            let index = try assignment.groundTruthIndex.select(dim: 0, index: i).maskedSelect(foreground)
            let groundTruth: Tensor
            if overlap {
                groundTruth = try masks.select(dim: 0, index: i).unsqueeze(0).eq((index + 1).view(-1, 1, 1).to(masks.dtype))
                    .to(prototypes.dtype)
            } else {
                let own = try masks.index([imageOfTarget.eq(Double(i))])
                groundTruth = try own.indexSelect(dim: 0, index: index)
            }
            let fgIndex = try foreground.nonzero().view(-1)
            let logits = try maskLogits(
                coefficients: coefficients.select(dim: 0, index: i).indexSelect(dim: 0, index: fgIndex),
                prototypes: prototypes.select(dim: 0, index: i))
            let bce = try logits.binaryCrossEntropyWithLogits(groundTruth, reduction: .none)
            let cropped = try cropMasks(bce, boxes: maskBoxes.select(dim: 0, index: i).indexSelect(dim: 0, index: fgIndex))
            let term = try (cropped.mean(dims: [1, 2]) / area.select(dim: 0, index: i).indexSelect(dim: 0, index: fgIndex)).sum()
            total = try total.map { try $0 + term } ?? term
        }
        return try total ?? prototypes.sum() * 0
    }
}
