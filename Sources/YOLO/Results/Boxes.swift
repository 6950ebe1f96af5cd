import Torch

/// The detections of one image in its original pixels, with the reference's views of them (`Boxes`): corners,
/// centre and size, both normalized by the image size, confidences and classes. Arithmetic is float32, as the
/// reference's tensors.
public struct Boxes: Sendable {
    public let detections: [Detection]
    /// The original image's height and width, which the normalized views divide by.
    public let originalShape: (height: Int, width: Int)

    public init(_ detections: [Detection], originalShape: (height: Int, width: Int)) {
        self.detections = detections
        self.originalShape = originalShape
    }

    /// From an (n, 6) tensor of x1, y1, x2, y2, conf, class, as NMS returns (after scaling to the original image).
    public init(_ tensor: Tensor, originalShape: (height: Int, width: Int)) throws {
        self.init(try Detection.rows(of: tensor), originalShape: originalShape)
    }

    public var count: Int { detections.count }
    public var isEmpty: Bool { detections.isEmpty }

    /// x1, y1, x2, y2 per box.
    public var xyxy: [[Float]] { detections.map { [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2] } }
    /// Centre x, centre y, width, height per box.
    public var xywh: [[Float]] {
        detections.map { d in
            let b = d.box
            return [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.x2 - b.x1, b.y2 - b.y1]
        }
    }
    /// `xyxy` divided by the image width (x) and height (y).
    public var xyxyn: [[Float]] { xyxy.map(normalize) }
    /// `xywh` divided by the image width (x, w) and height (y, h).
    public var xywhn: [[Float]] { xywh.map(normalize) }
    public var conf: [Float] { detections.map(\.confidence) }
    public var cls: [Int] { detections.map(\.classIndex) }

    /// The boxes as an (n, 6) float32 tensor of x1, y1, x2, y2, conf, class.
    public func tensor() throws -> Tensor {
        let values = detections.flatMap { d in
            [d.box.x1, d.box.y1, d.box.x2, d.box.y2, d.confidence, Float(d.classIndex)]
        }
        return try Tensor(values, shape: [count, 6])
    }

    private func normalize(_ row: [Float]) -> [Float] {
        let w = Float(originalShape.width), h = Float(originalShape.height)
        return [row[0] / w, row[1] / h, row[2] / w, row[3] / h]
    }
}
