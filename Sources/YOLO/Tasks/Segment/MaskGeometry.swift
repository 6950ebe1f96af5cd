import Torch

/// Zeroes every mask outside its box: `masks` (n, h, w), `boxes` (n, 4) xyxy in mask pixels; a pixel column c is
/// kept when x1 ≤ c < x2 (rows likewise, compared in the boxes' precision), as the reference's `crop_mask`.
func cropMasks(_ masks: Tensor, boxes: Tensor) throws -> Tensor {
    let (h, w) = (masks.size(1), masks.size(2))
    let sides = try boxes.to(masks.device).unsqueeze(2).chunk(4, dim: 1)  // each (n, 1, 1)
    let columns = try Tensor.arange(0, Double(w), dtype: boxes.dtype, device: masks.device).view(1, 1, w)
    let rows = try Tensor.arange(0, Double(h), dtype: boxes.dtype, device: masks.device).view(1, h, 1)
    let inColumns = try columns.ge(sides[0]).logicalAnd(columns.lt(sides[2])).to(masks.dtype)
    let inRows = try rows.ge(sides[1]).logicalAnd(rows.lt(sides[3])).to(masks.dtype)
    return try masks * inColumns * inRows
}

/// Mask logits from coefficients (n, nm) and prototypes (nm, h, w): (n, h, w).
func maskLogits(coefficients: Tensor, prototypes: Tensor) throws -> Tensor {
    let (nm, h, w) = (prototypes.size(0), prototypes.size(1), prototypes.size(2))
    return try coefficients.matmul(prototypes.reshape(nm, h * w)).view(-1, h, w)
}

/// The letterbox's content window inside an `input`-sized picture of an `original`-sized image, as the reference's
/// `scale_masks` and `scale_coords` recompute it: (top, left, bottom, right) and the per-axis gains.
struct LetterboxWindow {
    let top: Int, left: Int, bottom: Int, right: Int
    let gainX: Double, gainY: Double
    let padX: Double, padY: Double

    init(input: (height: Int, width: Int), original: (height: Int, width: Int)) {
        let gain = Swift.min(Double(input.height) / Double(original.height), Double(input.width) / Double(original.width))
        let newH = Swift.max(Int((Double(original.height) * gain).rounded(.toNearestOrEven)), 1)
        let newW = Swift.max(Int((Double(original.width) * gain).rounded(.toNearestOrEven)), 1)
        padX = (Double(input.width - newW) / 2 - 0.1).rounded(.toNearestOrEven)
        padY = (Double(input.height - newH) / 2 - 0.1).rounded(.toNearestOrEven)
        (top, left) = (Int(padY), Int(padX))
        (bottom, right) = (top + newH, left + newW)
        (gainX, gainY) = (Double(newW) / Double(original.width), Double(newH) / Double(original.height))
    }
}

/// Binary masks (n, H, W) uint8 from prototypes (nm, mh, mw) and coefficients (n, nm) for boxes (n, 4) xyxy in
/// input pixels, at the input size `shape`: the logits upsampled bilinearly, thresholded at 0 and cropped to the
/// boxes (the reference's `process_mask(..., upsample=True)`).
func processMasks(prototypes: Tensor, coefficients: Tensor, boxes: Tensor, shape: (height: Int, width: Int)) throws
    -> Tensor
{
    guard coefficients.size(0) > 0 else { return try Tensor.zeros([0, shape.height, shape.width], dtype: .uint8) }
    let logits = try maskLogits(coefficients: coefficients, prototypes: prototypes.to(.float32))
    let upsampled = try logits.unsqueeze(0).upsampleBilinear(height: shape.height, width: shape.width).squeeze(0)
    return try cropMasks(upsampled.gt(0).to(.uint8), boxes: boxes)
}

/// Binary masks (n, mh, mw) uint8 at the prototypes' resolution: the boxes (input pixels of an input `shape`)
/// scaled down to it (the reference's `process_mask(..., upsample=False)`, what its validator scores).
func processMasksAtPrototypes(prototypes: Tensor, coefficients: Tensor, boxes: Tensor, shape: (height: Int, width: Int))
    throws -> Tensor
{
    let (mh, mw) = (prototypes.size(1), prototypes.size(2))
    guard coefficients.size(0) > 0 else { return try Tensor.zeros([0, mh, mw], dtype: .uint8) }
    let logits = try maskLogits(coefficients: coefficients, prototypes: prototypes.to(.float32))
    let (rw, rh) = (Double(mw) / Double(shape.width), Double(mh) / Double(shape.height))
    let ratios = try Tensor([Float(rw), Float(rh), Float(rw), Float(rh)], shape: [1, 4]).to(boxes.device)
    return try cropMasks(logits.gt(0).to(.uint8), boxes: boxes * ratios)
}

/// IoU of every ground-truth mask (m, h, w) with every predicted mask (n, h, w), both 0/1 float: (m, n) as rows,
/// the reference's `mask_iou` (intersections by a matrix product).
func maskIoU(_ truth: Tensor, _ predicted: Tensor, eps: Double = 1e-7) throws -> [[Float]] {
    let (m, n) = (truth.size(0), predicted.size(0))
    guard m > 0, n > 0 else { return [[Float]](repeating: [], count: m) }
    let a = try truth.reshape(m, -1), b = try predicted.reshape(n, -1)
    let intersection = try a.matmul(b.transpose(0, 1)).clamp(min: 0)
    let union = try a.sum(dim: 1).unsqueeze(1) + b.sum(dim: 1).unsqueeze(0) - intersection
    let values = try (intersection / (union + eps)).contiguous().toArray(Float.self)
    return (0..<m).map { Array(values[($0 * n)..<(($0 + 1) * n)]) }
}

/// The same at the original image's size (`retina_masks=True`, the reference's `process_mask_native`): the
/// logits upsampled by the smallest factor that crops the letterbox padding on whole pixels, the padding cut,
/// resized bilinearly to the image, thresholded and cropped to `boxes` (n, 4) in original pixels.
func processMasksNative(
    prototypes: Tensor, coefficients: Tensor, boxes: Tensor, original: (height: Int, width: Int)
) throws -> Tensor {
    guard coefficients.size(0) > 0 else { return try Tensor.zeros([0, original.height, original.width], dtype: .uint8) }
    let (mh, mw) = (prototypes.size(1), prototypes.size(2))
    let gain = Swift.min(4 * Double(mh) / Double(original.height), 4 * Double(mw) / Double(original.width))
    let pad = (4 * mh - Swift.max(Int((Double(original.height) * gain).rounded(.toNearestOrEven)), 1))
        | (4 * mw - Swift.max(Int((Double(original.width) * gain).rounded(.toNearestOrEven)), 1))
    let f = 4 / gcd(4, pad | (pad / 2))
    var logits = try maskLogits(coefficients: coefficients, prototypes: prototypes.to(.float32)).unsqueeze(0)
    if f > 1 { logits = try logits.upsampleBilinear(height: mh * f, width: mw * f) }
    let window = LetterboxWindow(input: (logits.size(2), logits.size(3)), original: original)
    let content = try logits.slice(dim: 2, start: window.top, end: window.bottom).slice(dim: 3, start: window.left, end: window.right)
    let resized = try content.upsampleBilinear(height: original.height, width: original.width).squeeze(0)
    return try cropMasks(resized.gt(0).to(.uint8), boxes: boxes)
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? abs(a) : gcd(b, a % b) }
