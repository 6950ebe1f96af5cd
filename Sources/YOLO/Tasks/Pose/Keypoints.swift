import Torch
import Vision

/// The keypoints of one image's detections, as the reference's `Results.keypoints`: per detection K points in the
/// original image's pixels (`xy`), normalized by its size (`xyn`), and each point's visibility confidence (`conf`,
/// for keypoints of 3 values).
public struct Keypoints: Sendable {
    /// Per detection, per keypoint: x, y (pixels) and, with `hasVisible`, the confidence.
    public let data: [[[Float]]]
    public let originalShape: (height: Int, width: Int)
    public var hasVisible: Bool { data.first?.first?.count == 3 }

    public init(data: [[[Float]]], originalShape: (height: Int, width: Int)) {
        (self.data, self.originalShape) = (data, originalShape)
    }

    public var count: Int { data.count }
    public var xy: [[SIMD2<Float>]] { data.map { $0.map { SIMD2($0[0], $0[1]) } } }
    public var xyn: [[SIMD2<Float>]] {
        let size = SIMD2(Float(originalShape.width), Float(originalShape.height))
        return xy.map { $0.map { $0 / size } }
    }
    public var conf: [[Float]]? { hasVisible ? data.map { $0.map { $0[2] } } : nil }

    /// From predictions (n, K·dims) in the letterboxed input's pixels: the reference's `scale_coords` (padding off,
    /// divided by the gains, clipped to the image); confidences unchanged.
    init(_ values: Tensor, shape: (count: Int, dims: Int), input: (height: Int, width: Int), original: (height: Int, width: Int))
        throws
    {
        let window = LetterboxWindow(input: input, original: original)
        let flat = try values.to(.float32).to(.cpu).contiguous().toArray(Float.self)
        let per = shape.count * shape.dims
        let (w, h) = (Float(original.width), Float(original.height))
        let rows = flat.isEmpty ? [] : (0..<(flat.count / per)).map { n in
            (0..<shape.count).map { k -> [Float] in
                let p = n * per + k * shape.dims
                let x = min(max((flat[p] - Float(window.padX)) / Float(window.gainX), 0), w)
                let y = min(max((flat[p + 1] - Float(window.padY)) / Float(window.gainY), 0), h)
                return shape.dims == 3 ? [x, y, flat[p + 2]] : [x, y]
            }
        }
        self.init(data: rows, originalShape: original)
    }
}

extension Keypoints {
    /// COCO's skeleton (1-based keypoint pairs) and the reference's pose palette (BGR as OpenCV draws it) with its
    /// keypoint and limb colour choices.
    static let skeleton = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                           [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
    static let palette: [Color] = [
        (255, 128, 0), (255, 153, 51), (255, 178, 102), (230, 230, 0), (255, 153, 255), (153, 204, 255), (255, 102, 255),
        (255, 51, 255), (102, 178, 255), (51, 153, 255), (255, 153, 153), (255, 102, 102), (255, 51, 51), (153, 255, 153),
        (102, 255, 102), (51, 255, 51), (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 255),
    ].map { Color(b: $0.0, g: $0.1, r: $0.2) }
    static let keypointColors = [16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9].map { palette[$0] }
    static let limbColors = [9, 9, 9, 9, 7, 7, 7, 0, 0, 0, 0, 0, 16, 16, 16, 16, 16, 16, 16].map { palette[$0] }

    /// Draws each detection's keypoints (confidence ≥ 0.25) and, for COCO's 17, the skeleton, as the reference's
    /// annotator: radius and line width from the image's line width.
    func draw(on image: Image, lineWidth: Int, conf threshold: Float = 0.25) throws {
        for object in data {
            let isPerson = object.count == 17
            func shown(_ k: Int) -> Bool {
                object[k].count == 3 ? object[k][2] >= threshold : !(object[k][0] == 0 && object[k][1] == 0)
            }
            for (k, point) in object.enumerated() where shown(k) {
                let color = isPerson ? Keypoints.keypointColors[k] : BatchPlot.color(forClass: k)
                try image.fillCircle(center: Point(Double(Int(point[0])), Double(Int(point[1]))), radius: Double(lineWidth),
                                     color: color, antialiased: true)
            }
            guard isPerson else { continue }
            for (i, pair) in Keypoints.skeleton.enumerated() where shown(pair[0] - 1) && shown(pair[1] - 1) {
                let a = object[pair[0] - 1], b = object[pair[1] - 1]
                try image.drawLine(
                    from: Point(Double(Int(a[0])), Double(Int(a[1]))), to: Point(Double(Int(b[0])), Double(Int(b[1]))),
                    color: Keypoints.limbColors[i], thickness: Int((Double(lineWidth) / 2).rounded(.up)))
            }
        }
    }
}
