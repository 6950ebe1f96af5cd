import Torch

/// What the assigner chose for every anchor of every image.
public struct Assignment {
    /// (b, anchors) class of the assigned ground truth (0 where none).
    public let labels: Tensor
    /// (b, anchors, 4) the assigned ground-truth box, xyxy in pixels.
    public let boxes: Tensor
    /// (b, anchors, nc) soft targets: the normalised alignment metric at the assigned class.
    public let scores: Tensor
    /// (b, anchors) whether the anchor is foreground.
    public let foreground: Tensor
    /// (b, anchors) index of the assigned box within its image.
    public let groundTruthIndex: Tensor
}

/// The task-aligned assigner of TOOD, as the reference runs it: anchors whose centres lie inside a ground-truth box
/// (boxes smaller than the middle stride widened to it) are ranked by score^α · CIoU^β; each box takes its top k;
/// an anchor claimed by several boxes goes to the one it overlaps most.
public struct TaskAlignedAssigner {
    public var topk = 10, classes: Int, alpha = 0.5, beta = 6.0, eps = 1e-9
    /// Boxes narrower or lower than this are widened to it when selecting candidate anchors (the reference uses its
    /// second stride).
    public var minimumSide: Double

    public init(classes: Int, strides: [Double], topk: Int = 10, alpha: Double = 0.5, beta: Double = 6.0) {
        (self.classes, self.topk, self.alpha, self.beta) = (classes, topk, alpha, beta)
        minimumSide = strides.count > 1 ? strides[1] : strides[0]
    }

    /// - Parameters: `scores` (b, anchors, nc) probabilities; `predictedBoxes` (b, anchors, 4) xyxy pixels;
    ///   `anchors` (anchors, 2) pixels; `labels` (b, n, 1); `boxes` (b, n, 4) xyxy pixels; `mask` (b, n, 1) real
    ///   (non-padding) boxes.
    public func callAsFunction(
        scores: Tensor, predictedBoxes: Tensor, anchors: Tensor, labels: Tensor, boxes: Tensor, mask: Tensor
    ) throws -> Assignment {
        try withNoGrad {
            let (b, n, a) = (scores.size(0), boxes.size(1), scores.size(1))
            if n == 0 {
                return Assignment(
                    labels: try Tensor.full([b, a], Double(classes), dtype: .int64, device: scores.device),
                    boxes: try predictedBoxes.zerosLike(), scores: try scores.zerosLike(),
                    foreground: try Tensor.zeros([b, a], dtype: .bool, device: scores.device),
                    groundTruthIndex: try Tensor.zeros([b, a], dtype: .int64, device: scores.device))
            }
            let inside = try candidatesInside(anchors: anchors, boxes: boxes, mask: mask)  // (b, n, a) bool
            let realBoxes = try mask.to(.bool)
            var (alignment, overlaps) = try metrics(
                scores: scores, predictedBoxes: predictedBoxes, labels: labels, boxes: boxes,
                candidates: inside.logicalAnd(realBoxes))
            let top = try topCandidates(alignment, mask: realBoxes.expand([b, n, topk]))
            var positive = try top * inside.to(.int8) * realBoxes.to(.int8)  // (b, n, a) int8
            let (foreground, index, resolved) = try resolveConflicts(positive, overlaps: overlaps, boxes: n)
            positive = resolved

            // Targets from the assigned boxes.
            let offsets = try Tensor.arange(0, Double(b), device: index.device).view(b, 1) * Double(n)
            let flatIndex = try index + offsets
            let targetLabels = try labels.to(.int64).flatten().index([flatIndex]).clamp(min: 0)
            let targetBoxes = try boxes.view(-1, 4).index([flatIndex])
            var targetScores = try Tensor.zeros([b, a, classes], dtype: .int8, device: scores.device).scatter(
                dim: 2, index: targetLabels.unsqueeze(-1), source: Tensor.ones([b, a, 1], dtype: .int8, device: scores.device))
            targetScores = try targetScores * foreground.unsqueeze(-1).gt(0)

            // Normalise the alignment so that each box's best anchor gets that box's best overlap.
            let mask = try positive.to(alignment.dtype)
            alignment = try alignment * mask
            overlaps = try overlaps * mask
            let bestAlignment = try alignment.amax(dims: [-1], keepdim: true)
            let bestOverlap = try overlaps.amax(dims: [-1], keepdim: true)
            alignment = try alignment * bestOverlap / (bestAlignment + eps)
            let normalised = try alignment.amax(dims: [-2]).unsqueeze(-1)
            return Assignment(
                labels: targetLabels, boxes: targetBoxes, scores: try targetScores * normalised,
                foreground: try foreground.gt(0), groundTruthIndex: index)
        }
    }

    /// (b, n, a): anchor centres strictly inside each box, boxes first widened to `minimumSide`.
    func candidatesInside(anchors: Tensor, boxes: Tensor, mask: Tensor) throws -> Tensor {
        let xywh = try xyxyToXywh(boxes)
        let sides = try xywh.slice(dim: -1, start: 2)
        let small = try sides.lt(minimumSide).logicalAnd(mask.to(.bool))
        let widened = try Tensor.cat(
            [xywh.slice(dim: -1, end: 2), Tensor.where(small, sides.full(like: minimumSide), sides)], dim: -1)
        let corners = try xywhToXyxy(widened).unsqueeze(2)  // (b, n, 1, 4)
        let x = try anchors.select(dim: 1, index: 0), y = try anchors.select(dim: 1, index: 1)
        let c = try corners.chunk(4, dim: -1).map { try $0.squeeze(-1) }  // each (b, n, 1)
        return try (x - c[0]).gt(1e-9).logicalAnd((y - c[1]).gt(1e-9)).logicalAnd((c[2] - x).gt(1e-9))
            .logicalAnd((c[3] - y).gt(1e-9))
    }

    /// Alignment (score^α · IoU^β) and CIoU overlaps (b, n, a), filled where `candidates` holds.
    func metrics(scores: Tensor, predictedBoxes: Tensor, labels: Tensor, boxes: Tensor, candidates: Tensor) throws
        -> (Tensor, Tensor)
    {
        let shape = candidates.shape
        let where_ = try candidates.nonzero()
        let (bi, gi, ai) = (try where_.select(dim: 1, index: 0), try where_.select(dim: 1, index: 1), try where_.select(dim: 1, index: 2))
        let classOf = try labels.select(dim: 2, index: 0).to(.int64).index([bi, gi])
        let boxScores = try scores.index([bi, ai, classOf])
        let overlapValues = try completeIoU(boxes.index([bi, gi]), predictedBoxes.index([bi, ai])).squeeze(-1).clamp(min: 0)
        let alignValues = try boxScores.pow(alpha) * overlapValues.pow(beta)
        let overlaps = try overlapValues.newZeros(shape).indexPut([bi, gi, ai], overlapValues)
        let alignment = try alignValues.newZeros(shape).indexPut([bi, gi, ai], alignValues)
        return (alignment, overlaps)
    }

    /// (b, n, a) int8: 1 at each real box's top-k anchors by alignment (an anchor picked twice counts as none).
    func topCandidates(_ alignment: Tensor, mask: Tensor) throws -> Tensor {
        let indices = try alignment.topk(topk, dim: -1).indices.maskedFill(mask.logicalNot(), 0)
        let counts = try Tensor.zeros(alignment.shape, dtype: .int8, device: alignment.device).scatter(
            dim: -1, index: indices, source: Tensor.ones(indices.shape, dtype: .int8, device: alignment.device), add: true)
        return try counts.maskedFill(counts.gt(1), 0)
    }

    /// Anchors claimed by several boxes keep only the box they overlap most. Returns the foreground count per
    /// anchor, the assigned box index, and the resolved mask.
    func resolveConflicts(_ positive: Tensor, overlaps: Tensor, boxes n: Int) throws -> (Tensor, Tensor, Tensor) {
        let claims = try positive.sum(dims: [-2])  // (b, a)
        let multiple = try claims.unsqueeze(1).gt(1).expand(positive.shape)
        let best = try overlaps.max(dim: 1).indices
        let isBest = try positive.zerosLike().scatter(
            dim: 1, index: best.unsqueeze(1), source: positive.newOnes(best.unsqueeze(1).shape))
        let resolved = try Tensor.where(multiple, isBest, positive)
        let (foreground, index) = try resolved.max(dim: -2)
        return (foreground, index, resolved)
    }
}
