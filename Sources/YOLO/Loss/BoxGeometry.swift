import Foundation
import Torch

// Box conversions and overlaps on tensors whose last dimension holds 4 coordinates.

/// (cx, cy, w, h) → (x1, y1, x2, y2).
func xywhToXyxy(_ boxes: Tensor) throws -> Tensor {
    let p = try boxes.chunk(2, dim: -1)
    let half = try p[1] / 2
    return try Tensor.cat([p[0] - half, p[0] + half], dim: -1)
}

/// (x1, y1, x2, y2) → (cx, cy, w, h).
func xyxyToXywh(_ boxes: Tensor) throws -> Tensor {
    let p = try boxes.chunk(2, dim: -1)
    return try Tensor.cat([(p[0] + p[1]) / 2, p[1] - p[0]], dim: -1)
}

/// Complete IoU of matching xyxy boxes (shapes broadcast; result has a trailing dimension of 1), as the
/// reference's `bbox_iou(..., xywh=False, CIoU=True)`.
func completeIoU(_ box1: Tensor, _ box2: Tensor, eps: Double = 1e-7) throws -> Tensor {
    let a = try box1.chunk(4, dim: -1), b = try box2.chunk(4, dim: -1)
    let (ax1, ay1, ax2, ay2) = (a[0], a[1], a[2], a[3]), (bx1, by1, bx2, by2) = (b[0], b[1], b[2], b[3])
    let w1 = try ax2 - ax1, h1 = try ay2 - ay1 + eps
    let w2 = try bx2 - bx1, h2 = try by2 - by1 + eps
    let inter = try (ax2.minimum(bx2) - ax1.maximum(bx1)).clamp(min: 0) * (ay2.minimum(by2) - ay1.maximum(by1)).clamp(min: 0)
    let union = try w1 * h1 + w2 * h2 - inter + eps
    let iou = try inter / union
    let cw = try ax2.maximum(bx2) - ax1.minimum(bx1), ch = try ay2.maximum(by2) - ay1.minimum(by1)
    let c2 = try cw.square() + ch.square() + eps
    let rho2 = try ((bx1 + bx2 - ax1 - ax2).square() + (by1 + by2 - ay1 - ay2).square()) / 4
    let v = try ((w2 / h2).atan() - (w1 / h1).atan()).square() * (4 / (Double.pi * Double.pi))
    let alpha = try withNoGrad { try v / ((1 - iou) + v + eps) }
    return try iou - (rho2 / c2 + v * alpha)
}

/// Left-top-right-bottom distances from anchor points to xyxy boxes, clamped to [0, maxDistance − 0.01].
func boxesToDistances(anchors: Tensor, boxes: Tensor, maxDistance: Double) throws -> Tensor {
    let p = try boxes.chunk(2, dim: -1)
    return try Tensor.cat([anchors - p[0], p[1] - anchors], dim: -1).clamp(min: 0, max: maxDistance - 0.01)
}
