import Foundation
import Vision

/// Random rotation, scale, shear, translation and perspective, as one warp into a `size` image with a grey border
/// (the reference's `RandomPerspective`). Boxes go through their 4 corners (or their polygons when present, for
/// tighter boxes); boxes that end up too small, too thin or mostly outside are dropped (`boxCandidates`).
public struct RandomPerspective: Sendable {
    public var degrees = 0.0
    public var translate = 0.1
    public var scale: ClosedRange<Double> = 0.5...1.5
    public var shear = 0.0
    public var perspective = 0.0
    /// The output (width, height); nil keeps the input's size.
    public var size: ImageShape?

    public init(
        degrees: Double = 0, translate: Double = 0.1, scale: ClosedRange<Double> = 0.5...1.5, shear: Double = 0,
        perspective: Double = 0, size: ImageShape? = nil
    ) {
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.shear = shear
        self.perspective = perspective
        self.size = size
    }

    public init(_ config: AugmentConfig, imgsz: Int) {
        self.init(
            degrees: config.degrees, translate: config.translate, scale: config.scaleFactors, shear: config.shear,
            perspective: config.perspective, size: ImageShape(height: imgsz, width: imgsz))
    }

    /// A 3x3 row-major matrix, and the scale factor drawn, for an input of `input` size and output of `output`.
    /// The draws come in the reference's order: perspective x, y; angle; scale; shear x, y; translation x, y.
    public func matrix(input: ImageShape, output: ImageShape, rng: inout SampleRNG) -> (m: [Double], scale: Double) {
        let c = [1, 0, -Double(input.width) / 2, 0, 1, -Double(input.height) / 2, 0, 0, 1.0]
        let p = [1, 0, 0, 0, 1, 0, rng.uniform(-perspective, perspective), rng.uniform(-perspective, perspective), 1.0]
        let angle = rng.uniform(-degrees, degrees) * .pi / 180
        let s = rng.uniform(scale.lowerBound, scale.upperBound)
        let (alpha, beta) = (s * cos(angle), s * sin(angle))  // cv2.getRotationMatrix2D about (0, 0)
        let r = [alpha, beta, 0, -beta, alpha, 0, 0, 0, 1.0]
        let sx = tan(rng.uniform(-shear, shear) * .pi / 180)
        let sy = tan(rng.uniform(-shear, shear) * .pi / 180)
        let sh = [1, sx, 0, sy, 1, 0, 0, 0, 1.0]
        let tx = rng.uniform(0.5 - translate, 0.5 + translate) * Double(output.width)
        let ty = rng.uniform(0.5 - translate, 0.5 + translate) * Double(output.height)
        let t = [1, 0, tx, 0, 1, ty, 0, 0, 1.0]
        return (multiply(t, multiply(sh, multiply(r, multiply(p, c)))), s)
    }

    public func apply(_ sample: LabeledImage, rng: inout SampleRNG) throws -> LabeledImage {
        let output = size ?? sample.shape
        let (m, s) = matrix(input: sample.shape, output: output, rng: &rng)
        var out = sample
        out.image = try warp(sample.image, matrix: m, output: output)
        out.resizedShape = output
        out.labels = transform(sample.labels, matrix: m, scale: Float(s), output: output)
        return out
    }

    /// The image through the warp, with a grey border. `origin` is where `image` sits in the input the matrix was
    /// made for, when it is only the part of it that the warp reads (see `sourceRegion`).
    public func warp(_ image: Image, matrix m: [Double], output: ImageShape, origin: (x: Int, y: Int) = (0, 0)) throws
        -> Image
    {
        let shifted = origin == (0, 0) ? m : multiply(m, [1, 0, Double(origin.x), 0, 1, Double(origin.y), 0, 0, 1])
        if perspective != 0 {
            return try image.warpPerspective(shifted, width: output.width, height: output.height, border: 114)
        }
        return try image.warpAffine(Array(shifted[0..<6]), width: output.width, height: output.height, border: 114)
    }

    /// The part of an `input`-sized image that an affine warp into `output` reads: the inverse image of the output
    /// rectangle, with a margin for bilinear neighbours, within the input. Nil for a perspective warp (whose inverse
    /// can reach infinity) or when the whole input is read.
    public func sourceRegion(matrix m: [Double], input: ImageShape, output: ImageShape, margin: Int = 3)
        -> (x: Int, y: Int, width: Int, height: Int)?
    {
        guard perspective == 0 else { return nil }
        let det = m[0] * m[4] - m[1] * m[3]
        guard det != 0 else { return nil }
        let corners = [
            (0.0, 0.0), (Double(output.width), 0), (0, Double(output.height)),
            (Double(output.width), Double(output.height)),
        ].map { (u, v) -> (Double, Double) in
            let (du, dv) = (u - m[2], v - m[5])
            return ((m[4] * du - m[1] * dv) / det, (-m[3] * du + m[0] * dv) / det)
        }
        let x1 = max(0, Int(corners.map(\.0).min()!.rounded(.down)) - margin)
        let y1 = max(0, Int(corners.map(\.1).min()!.rounded(.down)) - margin)
        let x2 = min(input.width, Int(corners.map(\.0).max()!.rounded(.up)) + margin)
        let y2 = min(input.height, Int(corners.map(\.1).max()!.rounded(.up)) + margin)
        guard x2 > x1, y2 > y1 else { return (0, 0, 1, 1) }  // reads nothing: all border
        if x1 == 0, y1 == 0, x2 == input.width, y2 == input.height { return nil }
        return (x1, y1, x2 - x1, y2 - y1)
    }

    /// Objects through the warp, clipped to the output and filtered as the reference's box candidates.
    func transform(_ labels: ObjectLabels, matrix m: [Double], scale s: Float, output: ImageShape) -> ObjectLabels {
        let (w, h) = (Float(output.width), Float(output.height))
        var out = labels
        out.boxes = labels.boxes.map { box in
            let corners = [(box.x1, box.y1), (box.x2, box.y2), (box.x1, box.y2), (box.x2, box.y1)].map {
                project(SIMD2($0.0, $0.1), m)
            }
            let xs = corners.map(\.x)
            let ys = corners.map(\.y)
            return ObjectLabels.Box(x1: xs.min()!, y1: ys.min()!, x2: xs.max()!, y2: ys.max()!)
        }
        if !labels.segments.isEmpty {
            out.segments = labels.segments.map { $0.map { project($0, m) } }
            out.boxes = out.segments.map { SegmentGeometry.box(of: $0, width: w, height: h) }
            out.segments = zip(out.segments, out.boxes).map { segment, box in
                segment.map { SIMD2(min(max($0.x, box.x1), box.x2), min(max($0.y, box.y1), box.y2)) }
            }
        }
        if let keypoints = labels.keypoints {
            out.keypoints = keypoints.map {
                $0.map { k in
                    let p = project(SIMD2(k.x, k.y), m)
                    let outside = p.x < 0 || p.y < 0 || p.x > w || p.y > h
                    return SIMD3(p.x, p.y, outside ? 0 : k.z)
                }
            }
        }
        out.clip(width: w, height: h)
        let before = labels.boxes.map {
            ObjectLabels.Box(x1: $0.x1 * s, y1: $0.y1 * s, x2: $0.x2 * s, y2: $0.y2 * s)
        }
        out.filter(
            RandomPerspective.boxCandidates(
                before: before, after: out.boxes, areaRatio: labels.segments.isEmpty ? 0.1 : 0.01))
        return out
    }

    /// Boxes worth keeping after a warp: wider and taller than `minSize` pixels, aspect ratio below `maxAspect`,
    /// and at least `areaRatio` of their area before (scaled by the warp's scale).
    public static func boxCandidates(
        before: [ObjectLabels.Box], after: [ObjectLabels.Box], minSize: Float = 2, maxAspect: Float = 100,
        areaRatio: Float = 0.1
    ) -> [Bool] {
        let eps: Float = 1e-16
        return zip(before, after).map { b1, b2 in
            let (w1, h1, w2, h2) = (b1.width, b1.height, b2.width, b2.height)
            let aspect = max(w2 / (h2 + eps), h2 / (w2 + eps))
            return w2 > minSize && h2 > minSize && w2 * h2 / (w1 * h1 + eps) > areaRatio && aspect < maxAspect
        }
    }

    private func project(_ p: SIMD2<Float>, _ m: [Double]) -> SIMD2<Float> {
        let (x, y) = (Double(p.x), Double(p.y))
        var u = m[0] * x + m[1] * y + m[2]
        var v = m[3] * x + m[4] * y + m[5]
        if perspective != 0 {
            let z = m[6] * x + m[7] * y + m[8]
            u /= z
            v /= z
        }
        return SIMD2(Float(u), Float(v))
    }
}

/// 3x3 row-major product a · b.
func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
    var out = [Double](repeating: 0, count: 9)
    for i in 0..<3 {
        for j in 0..<3 { out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j] }
    }
    return out
}
