import Torch

/// Zeroes every mask outside its box: `masks` (n, h, w), `boxes` (n, 4) xyxy in mask pixels; a pixel column c is
/// kept when x1 ≤ c < x2 (rows likewise), as the reference's `crop_mask`.
func cropMasks(_ masks: Tensor, boxes: Tensor) throws -> Tensor {
    let (h, w) = (masks.size(1), masks.size(2))
    let sides = try boxes.to(masks.dtype).unsqueeze(2).chunk(4, dim: 1)  // each (n, 1, 1)
    let columns = try Tensor.arange(0, Double(w), dtype: masks.dtype, device: masks.device).view(1, 1, w)
    let rows = try Tensor.arange(0, Double(h), dtype: masks.dtype, device: masks.device).view(1, h, 1)
    let inColumns = try columns.ge(sides[0]).logicalAnd(columns.lt(sides[2])).to(masks.dtype)
    let inRows = try rows.ge(sides[1]).logicalAnd(rows.lt(sides[3])).to(masks.dtype)
    return try masks * inColumns * inRows
}

/// Mask logits from coefficients (n, nm) and prototypes (nm, h, w): (n, h, w).
func maskLogits(coefficients: Tensor, prototypes: Tensor) throws -> Tensor {
    let (nm, h, w) = (prototypes.size(0), prototypes.size(1), prototypes.size(2))
    return try coefficients.matmul(prototypes.reshape(nm, h * w)).view(-1, h, w)
}
