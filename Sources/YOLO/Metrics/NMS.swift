import Torch

/// Non-maximum suppression of the model's decoded output, as the reference's `non_max_suppression`.
///
/// `prediction` is (batch, 4 + nc + extra, anchors): centre x, y, width, height, then class scores, then any extra
/// channels. For each image it keeps the candidates whose best class score is above `conf`, turns boxes into corners,
/// takes one label per box (the best) or, with `multiLabel`, every label above `conf`, drops labels not in `classes`,
/// keeps the `maxNMS` most confident, suppresses overlaps within a class (across classes with `agnostic`) and keeps at
/// most `maxDet`. Returns per image an (n, 6 + extra) tensor of x1, y1, x2, y2, conf, class (+ extra), by descending
/// confidence. `nc` 0 means every channel after the box is a class. The defaults are the function's own; `yolo
/// predict` passes iou 0.7 and `yolo val` conf 0.001, iou 0.7 and multi-label.
public func nonMaxSuppression(
    prediction: Tensor, conf: Double = 0.25, iou: Double = 0.45, classes: [Int]? = nil, agnostic: Bool = false,
    multiLabel: Bool = false, maxDet: Int = 300, nc: Int = 0, maxNMS: Int = 30000, maxWH: Double = 7680
) throws -> [Tensor] {
    guard (0...1).contains(conf) else { throw TorchError("invalid confidence threshold \(conf): expected 0...1") }
    guard (0...1).contains(iou) else { throw TorchError("invalid IoU threshold \(iou): expected 0...1") }
    let shape = prediction.shape
    guard shape.count == 3, shape[1] > 4 else {
        throw TorchError("NMS expects a (batch, 4 + classes, anchors) prediction, got shape \(shape)")
    }
    let nc = nc > 0 ? nc : shape[1] - 4
    guard 4 + nc <= shape[1] else { throw TorchError("NMS: \(nc) classes do not fit \(shape[1]) channels") }
    let extra = shape[1] - 4 - nc
    let multiLabel = multiLabel && nc > 1
    let allowed = try classes.map {
        try Tensor($0.map(Float.init)).to(device: prediction.device, dtype: prediction.dtype)
    }

    // Candidates: the best class score above conf. Rows become (anchors, channels).
    let candidates = try prediction.slice(dim: 1, start: 4, end: 4 + nc).amax(dims: [1]).gt(conf)
    let rows = try prediction.transpose(1, 2)
    let empty = try Tensor.zeros([0, 6 + extra], dtype: prediction.dtype, device: prediction.device)

    return try (0..<shape[0]).map { image in
        let x = try rows[image].index([candidates[image]])
        guard x.size(0) > 0 else { return empty }
        let box = try xywhToXyxy(x.slice(dim: 1, end: 4))
        let scores = try x.slice(dim: 1, start: 4, end: 4 + nc)
        let masks = try x.slice(dim: 1, start: 4 + nc)
        var detections: Tensor
        if multiLabel {  // one row per (box, class) above conf, in box then class order
            let pairs = try scores.gt(conf).nonzero()
            let i = try pairs.select(dim: 1, index: 0), j = try pairs.select(dim: 1, index: 1)
            detections = try Tensor.cat(
                [
                    box.indexSelect(dim: 0, index: i), scores.index([i, j]).unsqueeze(1),
                    j.to(x.dtype).unsqueeze(1), masks.indexSelect(dim: 0, index: i),
                ], dim: 1)
        } else {  // the best class only
            let (best, j) = try scores.max(dim: 1, keepdim: true)
            detections = try Tensor.cat([box, best, j.to(x.dtype), masks], dim: 1).index([best.view(-1).gt(conf)])
        }
        if let allowed {
            let keep = try detections.slice(dim: 1, start: 5, end: 6).eq(allowed).any(dims: [1])
            detections = try detections.index([keep])
        }
        guard detections.size(0) > 0 else { return empty }
        let keep = try Tensor.batchedNMS(
            boxes: detections.slice(dim: 1, end: 4), scores: detections.select(dim: 1, index: 4),
            classes: agnostic ? nil : detections.select(dim: 1, index: 5), iouThreshold: iou, classOffset: maxWH,
            maxCandidates: maxNMS, maxKeep: maxDet)
        return try detections.indexSelect(dim: 0, index: keep)
    }
}
