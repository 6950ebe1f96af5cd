import CTorch

// Detection kernels: non-maximum suppression (greedy, torchvision's semantics).

extension Tensor {
    /// Indices of the boxes that greedy non-maximum suppression keeps, in descending score order, as
    /// `torchvision.ops.nms`: `boxes` (N, 4) x1, y1, x2, y2, `scores` (N,); a box is dropped when its IoU with a box
    /// kept before it is greater than `iouThreshold`. Ties in score keep their input order.
    public static func nms(boxes: Tensor, scores: Tensor, iouThreshold: Double) throws -> Tensor {
        try checked(ct_nms(boxes.handle, scores.handle, iouThreshold))
    }

    /// Class-aware NMS as the reference runs it: each box is shifted by `classes × classOffset` (float32) so boxes
    /// of different classes never suppress each other (`classes` nil: class-agnostic). Only the `maxCandidates`
    /// highest scores take part, and at most `maxKeep` indices come back (nil: no limit); both limits give the
    /// reference's result, which sorts, truncates, suppresses everything and then truncates.
    public static func batchedNMS(
        boxes: Tensor, scores: Tensor, classes: Tensor?, iouThreshold: Double, classOffset: Double = 7680,
        maxCandidates: Int? = nil, maxKeep: Int? = nil
    ) throws -> Tensor {
        try checked(
            ct_batched_nms(
                boxes.handle, scores.handle, classes?.handle, iouThreshold, classOffset, Int64(maxCandidates ?? -1),
                Int64(maxKeep ?? -1)))
    }
}
