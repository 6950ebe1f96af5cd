import Torch
import Vision

/// The instance masks of one image's detections, as the reference's `Results.masks`: `data` (n, h, w) uint8 0/1 at
/// the letterboxed inference size (the image's own size with `retina_masks`), and each mask's outline as a polygon
/// in the original image's pixels (`xy`) or normalized by its size (`xyn`).
public struct Masks: Sendable {
    public let data: Tensor
    public let originalShape: (height: Int, width: Int)

    public init(data: Tensor, originalShape: (height: Int, width: Int)) {
        (self.data, self.originalShape) = (data, originalShape)
    }

    public var count: Int { data.size(0) }

    /// One polygon per mask in original pixels: its outer contours (merged into one when there are several), as
    /// the reference's `masks.xy` (empty for a mask without pixels).
    public var xy: [[SIMD2<Float>]] { get throws { try polygons(normalized: false) } }
    /// The same divided by the image's width and height (`masks.xyn`, what `save_txt` writes).
    public var xyn: [[SIMD2<Float>]] { get throws { try polygons(normalized: true) } }

    func polygons(normalized: Bool) throws -> [[SIMD2<Float>]] {
        let (n, h, w) = (data.size(0), data.size(1), data.size(2))
        guard n > 0 else { return [] }
        let bytes = try data.to(.cpu).contiguous().toArray(UInt8.self)
        let window = LetterboxWindow(input: (h, w), original: originalShape)
        let (ow, oh) = (Float(originalShape.width), Float(originalShape.height))
        return try (0..<n).map { i in
            let mask = try Image(bytes: Array(bytes[(i * h * w)..<((i + 1) * h * w)]), width: w, height: h, channels: 1)
            let contours = try mask.externalContours().map { $0.map { SIMD2(Float($0.x), Float($0.y)) } }
            let outline = contours.count > 1 ? mergeSegments(contours).flatMap { $0 } : contours.first ?? []
            // scale_coords: padding off, divided by the gains (float32), clipped to the image.
            return outline.map { p in
                var x = (p.x - Float(window.padX)) / Float(window.gainX), y = (p.y - Float(window.padY)) / Float(window.gainY)
                x = Swift.min(Swift.max(x, 0), ow)
                y = Swift.min(Swift.max(y, 0), oh)
                return normalized ? SIMD2(x / ow, y / oh) : SIMD2(x, y)
            }
        }
    }
}

/// Several outlines joined into one path by thin two-way bridges between their closest points, as the reference's
/// `merge_multi_segment`: returns the pieces in the order to concatenate.
func mergeSegments(_ input: [[SIMD2<Float>]]) -> [[SIMD2<Float>]] {
    var segments = input
    var indices = [[Int]](repeating: [], count: segments.count)
    for i in 1..<segments.count {  // the closest pair of points between consecutive outlines
        var best = (Float.infinity, 0, 0)
        for (a, p) in segments[i - 1].enumerated() {
            for (b, q) in segments[i].enumerated() {
                let d = ((p - q) * (p - q)).sum()
                if d < best.0 { best = (d, a, b) }
            }
        }
        indices[i - 1].append(best.1)
        indices[i].append(best.2)
    }
    var out: [[SIMD2<Float>]] = []
    let last = segments.count - 1
    for i in 0..<segments.count {  // forward: each outline rotated to start at its first bridge
        var idx = indices[i]
        if idx.count == 2 && idx[0] > idx[1] {
            idx = idx.map { segments[i].count - 1 - $0 }
            segments[i].reverse()
        }
        let shift = idx[0]
        segments[i] = Array(segments[i][shift...] + segments[i][..<shift])
        segments[i].append(segments[i][0])
        if i == 0 || i == last {
            out.append(segments[i])
        } else {
            out.append(Array(segments[i][0...(idx[1] - idx[0])]))
        }
    }
    for i in stride(from: last, through: 0, by: -1) where i != 0 && i != last {  // back along the middle outlines
        let idx = indices[i]
        out.append(Array(segments[i][abs(idx[1] - idx[0])...]))
    }
    return out
}

extension Masks {
    /// Each mask as a 1-channel 0/1 image of the original image's size (the letterbox padding cut, then resized).
    func originalSizeMasks() throws -> [Image] {
        let (n, h, w) = (data.size(0), data.size(1), data.size(2))
        let bytes = try data.to(.cpu).contiguous().toArray(UInt8.self)
        let window = LetterboxWindow(input: (h, w), original: originalShape)
        return try (0..<n).map { i in
            var mask = try Image(bytes: Array(bytes[(i * h * w)..<((i + 1) * h * w)]), width: w, height: h, channels: 1)
            if (h, w) != (originalShape.height, originalShape.width) {
                mask = try mask.cropped(x: window.left, y: window.top, width: window.right - window.left, height: window.bottom - window.top)
                    .resized(width: originalShape.width, height: originalShape.height)
            }
            return mask
        }
    }

    /// Paints every mask over `image` (BGR, the original size) in its colour at `alpha`.
    func blend(into image: Image, colors: [Color], alpha: Double) throws {
        let masks = try originalSizeMasks()
        let plane = image.width * image.height
        try image.withUnsafeMutableBytes { pixels in
            for (mask, color) in zip(masks, colors) {
                let bgr = [Double(color.b), Double(color.g), Double(color.r)]
                try mask.withUnsafeBytes { m in
                    guard m.count == plane else { throw VisionError("mask size does not match the image") }
                    for p in 0..<plane where m[p] != 0 {
                        for c in 0..<3 {
                            pixels[3 * p + c] = UInt8((Double(pixels[3 * p + c]) * (1 - alpha) + bgr[c] * alpha).rounded())
                        }
                    }
                }
            }
        }
    }
}
