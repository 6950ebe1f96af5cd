import Torch

/// What a task scores beside boxes (masks, keypoints): for one image of a validation batch, the IoU-like overlap
/// of every ground-truth object (rows, in the batch's target order) with every prediction (columns, NMS order).
/// The validator feeds it to the same AP engine as the boxes.
protocol InstanceMatcher {
    /// The results' key suffix (`metrics/mAP50(M)`) and the table's column title (`Mask(P`).
    var kind: String { get }
    var title: String { get }
    /// `predictions` (n, 6 + extra) as NMS returns them (in input pixels), `objects` the indices of the image's rows
    /// in the batch's targets (in order), `image` its index in the batch.
    func overlap(batch: Batch, image: Int, objects: [Int], predictions: Tensor, head: HeadOutput) throws -> [[Float]]
}

/// The matcher of a model's task, if it has one (masks for segment, keypoints for pose). `nativeMasks`: score masks
/// at the input's size, as the reference does when it saves JSON.
/// `oksSigmas`: the dataset's `kpt_oks_sigmas`, else the reference's defaults.
func instanceMatcher(
    for model: DetectionModel, masks: MaskFormat?, nativeMasks: Bool = false, oksSigmas: [Float]? = nil
) throws -> (any InstanceMatcher)? {
    switch model.task {
    case .segment:
        guard let masks else { throw ConfigError("validating a segmentation model needs a loader with masks (MaskFormat)") }
        return MaskMatcher(format: masks, native: nativeMasks)
    case .pose:
        guard let head = model.detect as? Pose else { return nil }
        let sigmas = oksSigmas ?? keypointSigmas(head.keypointShape)
        guard sigmas.count == head.keypointShape.count, sigmas.allSatisfy({ $0 > 0 }) else {
            throw ConfigError("'kpt_oks_sigmas' must be \(head.keypointShape.count) positive values, got \(sigmas)")
        }
        return KeypointMatcher(shape: head.keypointShape, sigmas: sigmas)
    default:
        return nil
    }
}

/// Segmentation: predicted masks at the prototypes' resolution (the reference's validator) against the batch's; with
/// `native`, both at the input's size (the reference's `process_mask_native`, which it uses with save_json).
struct MaskMatcher: InstanceMatcher {
    let format: MaskFormat
    var native = false
    var kind: String { "M" }
    var title: String { "Mask" }

    func overlap(batch: Batch, image i: Int, objects: [Int], predictions: Tensor, head: HeadOutput) throws -> [[Float]] {
        guard let batchMasks = batch.masks, let prototypes = head.prototypes else {
            throw ConfigError("mask validation needs the batch's masks and the model's prototypes")
        }
        let (mh, mw) = (prototypes.size(2), prototypes.size(3))
        let input = (height: batch.shape.height, width: batch.shape.width)
        var truth: Tensor
        if format.overlap {
            let index = try Tensor((1...Swift.max(objects.count, 1)).map(Float.init)).view(-1, 1, 1)
            truth = try batchMasks.select(dim: 0, index: i).to(.float32).unsqueeze(0).eq(index).to(.float32)
            if objects.isEmpty { truth = try truth.slice(dim: 0, end: 0) }
        } else {
            let first = objects.first ?? 0
            truth = try batchMasks.slice(dim: 0, start: first, end: first + objects.count).to(.float32)
        }
        let size = native ? input : (input.height / 4, input.width / 4)
        if !objects.isEmpty, truth.size(1) != size.0 || truth.size(2) != size.1 {
            truth = try truth.unsqueeze(0).upsampleBilinear(height: size.0, width: size.1).squeeze(0).gt(0.5).to(.float32)
        }
        let (proto, coefficients, boxes) = (
            try prototypes.select(dim: 0, index: i).to(.float32), try predictions.slice(dim: 1, start: 6),
            try predictions.slice(dim: 1, end: 4))
        let masks = native
            ? try processMasks(prototypes: proto, coefficients: coefficients, boxes: boxes, shape: input)
            : try processMasksAtPrototypes(prototypes: proto, coefficients: coefficients, boxes: boxes, shape: (mh * 4, mw * 4))
        return try maskIoU(truth, masks.to(.float32))
    }
}

/// Pose: OKS between the batch's keypoints (scaled to the input) and the predicted ones, with the area of each
/// ground-truth box × 0.53 (the reference's `kpt_iou`).
struct KeypointMatcher: InstanceMatcher {
    let shape: (count: Int, dims: Int)
    let sigmas: [Float]
    var kind: String { "P" }
    var title: String { "Pose" }

    func overlap(batch: Batch, image i: Int, objects: [Int], predictions: Tensor, head: HeadOutput) throws -> [[Float]] {
        guard let keypoints = batch.keypoints else { throw ConfigError("pose validation needs the batch's keypoints") }
        let n = predictions.size(0)
        guard !objects.isEmpty, n > 0 else { return [[Float]](repeating: [], count: objects.count) }
        let (w, h) = (Float(batch.shape.width), Float(batch.shape.height))
        let index = try Tensor(objects.map { Int64($0) })
        let truth = try keypoints.indexSelect(dim: 0, index: index).to(.float32)  // (m, K, 3) normalized
        let scale = try Tensor([w, h, 1], shape: [1, 1, 3])
        let gt = try truth * scale
        let boxes = objects.map { r -> Float in batch.targetValues[6 * r + 4] * w * batch.targetValues[6 * r + 5] * h * 0.53 }
        let area = try Tensor(boxes).view(-1, 1, 1)
        let predicted = try predictions.slice(dim: 1, start: 6).reshape(n, shape.count, shape.dims)  // (n, K, dims)
        let dx = try gt.select(dim: 2, index: 0).unsqueeze(1) - predicted.select(dim: 2, index: 0).unsqueeze(0)
        let dy = try gt.select(dim: 2, index: 1).unsqueeze(1) - predicted.select(dim: 2, index: 1).unsqueeze(0)
        let d = try dx.square() + dy.square()  // (m, n, K)
        let sigma = try Tensor(sigmas).view(1, 1, -1)
        let e = try d / ((sigma * 2).square() * (area + 1e-7) * 2)
        let visible = try gt.select(dim: 2, index: 2).ne(0).to(.float32)  // (m, K)
        let oks = try ((-e).exp() * visible.unsqueeze(1)).sum(dim: 2) / (visible.sum(dim: 1).unsqueeze(1) + 1e-7)
        let values = try oks.contiguous().toArray(Float.self)
        return (0..<objects.count).map { Array(values[($0 * n)..<(($0 + 1) * n)]) }
    }
}
