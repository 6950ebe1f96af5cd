import Foundation
import Torch
import Vision

/// A batch drawn as one image: its images in a square grid (column by column, at most 16, the whole at most
/// `maxSize` pixels), each labelled with its file name, its boxes in the class colours with the class names, and
/// each object's mask (painted in its class colour) or keypoints (with COCO's skeleton for 17) where it has them.
/// The reference's `plot_images`, which writes `train_batch0.jpg` and `val_batch0_pred.jpg` in a run folder.
public enum BatchPlot {
    /// The reference's 20-colour palette (RGB hex), class `c` drawn in colour `c % 20`.
    static let palette: [UInt32] = [
        0x042AFF, 0x0BDBEB, 0xF3F3F3, 0x00DFB7, 0x111F68, 0xFF6FDD, 0xFF444F, 0xCCED00, 0x00F344, 0xBD00FF,
        0x00B4FF, 0xDD00BA, 0x00FFFF, 0x26C000, 0x01FFB3, 0x7D24FF, 0x7B0068, 0xFF1B6C, 0xFC6D2F, 0xA2FF0B,
    ]

    public static func color(forClass c: Int) -> Color {
        let rgb = palette[((c % palette.count) + palette.count) % palette.count]
        return Color(b: UInt8(rgb & 0xFF), g: UInt8((rgb >> 8) & 0xFF), r: UInt8((rgb >> 16) & 0xFF))
    }

    /// The grid image (BGR), with `boxes` (the batch's labels when nil). A box with a confidence is drawn only
    /// above `confThreshold`, its label "name 0.9", as the reference draws predictions.
    public static func render(
        _ batch: Batch, names: [String], boxes: [PlotBox]? = nil, confThreshold: Double = 0.25, maxSize: Int = 1920,
        maxImages: Int = 16
    ) throws -> Image {
        let count = min(batch.count, maxImages)
        let (h0, w0) = (batch.shape.height, batch.shape.width)
        let ns = Int(Double(count).squareRoot().rounded(.up))
        var images = try batch.images.narrow(dim: 0, start: 0, length: count)
        if images.dtype != .uint8 { images = try (images * 255.0).round().clamp(min: 0, max: 255).to(.uint8) }
        let pixels = try images.contiguous().toArray(UInt8.self)
        let grid = try Image(width: ns * w0, height: ns * h0, fill: .white)
        let plane = h0 * w0
        for i in 0..<count {  // CHW RGB -> the grid's BGR, column by column as the reference lays it out
            let (x0, y0) = (w0 * (i / ns), h0 * (i % ns))
            let start = i * 3 * plane
            grid.withUnsafeMutableBytes { out in
                for y in 0..<h0 {
                    let row = ((y0 + y) * ns * w0 + x0) * 3
                    for x in 0..<w0 {
                        let p = start + y * w0 + x
                        out[row + 3 * x] = pixels[p + 2 * plane]
                        out[row + 3 * x + 1] = pixels[p + plane]
                        out[row + 3 * x + 2] = pixels[p]
                    }
                }
            }
        }
        var canvas = grid
        var (h, w) = (h0, w0)
        let scale = Double(maxSize) / Double(ns) / Double(max(h0, w0))
        if scale < 1 {
            h = Int((scale * Double(h0)).rounded(.up))
            w = Int((scale * Double(w0)).rounded(.up))
            canvas = try grid.resized(width: w * ns, height: h * ns)
        }
        let fontSize = max(Int(Double((h + w) * ns) * 0.01), 18)
        let lineWidth = max(Int((Double(fontSize) / 10).rounded()), 1)
        let textScale = Double(lineWidth) / 3
        let textThickness = max(lineWidth - 1, 1)
        let boxes = try boxes ?? labels(of: batch)
        for i in 0..<count {
            let (x, y) = (w * (i / ns), h * (i % ns))
            try canvas.drawRectangle(x1: x, y1: y, x2: x + w, y2: y + h, color: .white, thickness: 2)
            let name = String(URL(fileURLWithPath: batch.paths[i]).lastPathComponent.prefix(40))
            try canvas.drawText(
                name, x: x + 5, y: y + 5 + Int(20 * textScale), scale: textScale, color: Color(gray: 220),
                thickness: textThickness)
            for b in boxes where b.image == i {
                if let confidence = b.confidence, confidence <= confThreshold { continue }
                let x1 = x + Int((b.cx - b.width / 2) * Double(w))
                let y1 = y + Int((b.cy - b.height / 2) * Double(h))
                let x2 = x + Int((b.cx + b.width / 2) * Double(w))
                let y2 = y + Int((b.cy + b.height / 2) * Double(h))
                let color = color(forClass: b.cls)
                try canvas.drawRectangle(
                    x1: x1, y1: y1, x2: x2, y2: y2, color: color, thickness: lineWidth, antialiased: false)
                var label = b.cls < names.count ? names[b.cls] : "\(b.cls)"
                if let confidence = b.confidence { label += String(format: " %.1f", confidence) }
                try drawLabel(label, on: canvas, at: (x1, y1), color: color, scale: textScale, thickness: textThickness)
                if let keypoints = b.keypoints {  // normalized to the batch image: into the cell's pixels
                    let points = keypoints.map { k in [Float(x) + k[0] * Float(w), Float(y) + k[1] * Float(h)] + k.dropFirst(2) }
                    try Keypoints(data: [points], originalShape: (canvas.height, canvas.width))
                        .draw(on: canvas, lineWidth: lineWidth)
                }
            }
            // Masks last, over the boxes, as the reference blends them (0.6 of the class colour).
            for b in boxes where b.image == i && b.mask != nil {
                if let confidence = b.confidence, confidence <= confThreshold { continue }
                try b.mask!.paint(on: canvas, at: (x, y), size: (w, h), color: color(forClass: b.cls), alpha: 0.6)
            }
        }
        return canvas
    }

    /// A box on image `image` of a batch: centre and size normalized to the batch's (height, width); a confidence
    /// for a prediction, nil for a label.
    public struct PlotBox: Sendable, Equatable {
        public var image: Int, cls: Int
        public var cx: Double, cy: Double, width: Double, height: Double
        public var confidence: Double?
        /// Segment: the object's mask over the whole batch image.
        public var mask: PlotMask?
        /// Pose: per keypoint x, y normalized to the batch image, and its visibility or confidence when there is one.
        public var keypoints: [[Float]]?

        public init(image: Int, cls: Int, cx: Double, cy: Double, width: Double, height: Double, confidence: Double? = nil) {
            (self.image, self.cls, self.cx, self.cy, self.width, self.height) = (image, cls, cx, cy, width, height)
            self.confidence = confidence
        }
    }

    /// A 0/1 mask of `width` x `height` pixels covering a whole batch image (any resolution: drawn resized).
    public struct PlotMask: Sendable, Equatable {
        public var width: Int, height: Int
        public var bytes: [UInt8]

        public init(width: Int, height: Int, bytes: [UInt8]) { (self.width, self.height, self.bytes) = (width, height, bytes) }

        /// Blends `color` at `alpha` into the `size` cell of `canvas` at `origin` wherever the mask is set.
        func paint(on canvas: Image, at origin: (x: Int, y: Int), size: (width: Int, height: Int), color: Color,
                   alpha: Double) throws {
            let scaled = try Image(bytes: bytes, width: width, height: height, channels: 1)
                .resized(width: size.width, height: size.height)  // bilinear on 0/1, as the reference's cv2.resize
            let bgr = [Double(color.b), Double(color.g), Double(color.r)]
            let stride = canvas.width
            scaled.withUnsafeBytes { m in
                canvas.withUnsafeMutableBytes { pixels in
                    for y in 0..<min(size.height, canvas.height - origin.y) {
                        for x in 0..<min(size.width, canvas.width - origin.x) where m[y * size.width + x] != 0 {
                            let p = 3 * ((origin.y + y) * stride + origin.x + x)
                            for c in 0..<3 {
                                pixels[p + c] = UInt8((Double(pixels[p + c]) * (1 - alpha) + bgr[c] * alpha).rounded())
                            }
                        }
                    }
                }
            }
        }
    }

    /// The batch's ground truth, with each object's mask (segment) or keypoints (pose) when the batch has them.
    public static func labels(of batch: Batch) throws -> [PlotBox] {
        let v = batch.targetValues
        var boxes = stride(from: 0, to: v.count, by: 6).map { r in
            PlotBox(image: Int(v[r]), cls: Int(v[r + 1]), cx: Double(v[r + 2]), cy: Double(v[r + 3]),
                    width: Double(v[r + 4]), height: Double(v[r + 5]))
        }
        if let keypoints = batch.keypoints, keypoints.size(0) == boxes.count, !boxes.isEmpty {
            let (k, dims) = (keypoints.size(1), keypoints.size(2))
            let values = try keypoints.to(.float32).contiguous().toArray(Float.self)
            for r in boxes.indices {
                boxes[r].keypoints = (0..<k).map { j in Array(values[((r * k + j) * dims)..<((r * k + j + 1) * dims)]) }
            }
        }
        if let masks = batch.masks, !boxes.isEmpty {
            let (mh, mw) = (masks.size(1), masks.size(2))
            let values = try masks.to(.int32).contiguous().toArray(Int32.self)
            if masks.size(0) == boxes.count {  // one mask per object (overlap_mask=False)
                for r in boxes.indices {
                    boxes[r].mask = PlotMask(width: mw, height: mh, bytes: values[(r * mh * mw)..<((r + 1) * mh * mw)].map { $0 != 0 ? 1 : 0 })
                }
            } else {  // one index map per image: the j-th object of an image is where the map holds j + 1
                var seen = [Int: Int32]()
                for r in boxes.indices where boxes[r].image < masks.size(0) {
                    let i = boxes[r].image, index = (seen[i] ?? 0) + 1
                    seen[i] = index
                    let plane = values[(i * mh * mw)..<((i + 1) * mh * mw)]
                    boxes[r].mask = PlotMask(width: mw, height: mh, bytes: plane.map { $0 == index ? 1 : 0 })
                }
            }
        }
        return boxes
    }

    /// Detections per image (rows x1, y1, x2, y2, conf, class in the batch's pixels), the first `maxDet` of each.
    public static func predictions(_ detections: [[Float]], batch: Batch, maxDet: Int = 300) -> [PlotBox] {
        let (h, w) = (Double(batch.shape.height), Double(batch.shape.width))
        var boxes: [PlotBox] = []
        for (i, rows) in detections.enumerated() {
            for r in stride(from: 0, to: min(rows.count, maxDet * 6), by: 6) {
                let (x1, y1, x2, y2) = (Double(rows[r]), Double(rows[r + 1]), Double(rows[r + 2]), Double(rows[r + 3]))
                boxes.append(PlotBox(
                    image: i, cls: Int(rows[r + 5]), cx: (x1 + x2) / 2 / w, cy: (y1 + y2) / 2 / h, width: (x2 - x1) / w,
                    height: (y2 - y1) / h, confidence: Double(rows[r + 4])))
            }
        }
        return boxes
    }

    /// Renders and writes the grid (a temporary file renamed into place), e.g. `runs/detect/train/train_batch0.jpg`.
    public static func save(_ batch: Batch, names: [String], to path: String) throws {
        try render(batch, names: names).write(to: path)
    }

    /// A filled label above the box's top-left corner (inside the box when there is no room above), as the
    /// reference's annotator draws it.
    static func drawLabel(
        _ text: String, on image: Image, at corner: (x: Int, y: Int), color: Color, scale: Double, thickness: Int
    ) throws {
        var (tw, th, _) = try Image.textSize(text, scale: scale, thickness: thickness)
        th += 3
        let outside = corner.y >= th
        let x = min(corner.x, image.width - tw)
        let y2 = outside ? corner.y - th : corner.y + th
        try image.fillRectangle(x1: x, y1: min(corner.y, y2), x2: x + tw, y2: max(corner.y, y2), color: color)
        let luminance = 0.299 * Double(color.r) + 0.587 * Double(color.g) + 0.114 * Double(color.b)
        let textColor: Color = luminance > 160 ? Color(b: 17, g: 31, r: 104) : .white
        try image.drawText(
            text, x: x, y: outside ? corner.y - 2 : corner.y + th - 1, scale: scale, color: textColor,
            thickness: thickness)
    }
}
