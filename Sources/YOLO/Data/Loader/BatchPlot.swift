import Foundation
import Torch
import Vision

/// A batch drawn as one image: its images in a square grid (column by column, at most 16, the whole at most
/// `maxSize` pixels), each labelled with its file name, its boxes in the class colours with the class names.
/// The reference's `plot_images`, which writes `train_batch0.jpg` in a run folder.
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

    /// The grid image (BGR).
    public static func render(_ batch: Batch, names: [String], maxSize: Int = 1920, maxImages: Int = 16) throws -> Image
    {
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
        let values = batch.targetValues
        for i in 0..<count {
            let (x, y) = (w * (i / ns), h * (i % ns))
            try canvas.drawRectangle(x1: x, y1: y, x2: x + w, y2: y + h, color: .white, thickness: 2)
            let name = String(URL(fileURLWithPath: batch.paths[i]).lastPathComponent.prefix(40))
            try canvas.drawText(
                name, x: x + 5, y: y + 5 + Int(20 * textScale), scale: textScale, color: Color(gray: 220),
                thickness: textThickness)
            for row in stride(from: 0, to: values.count, by: 6) where Int(values[row]) == i {
                let cls = Int(values[row + 1])
                let (cx, cy, bw, bh) = (
                    Double(values[row + 2]), Double(values[row + 3]), Double(values[row + 4]), Double(values[row + 5])
                )
                let x1 = x + Int((cx - bw / 2) * Double(w))
                let y1 = y + Int((cy - bh / 2) * Double(h))
                let x2 = x + Int((cx + bw / 2) * Double(w))
                let y2 = y + Int((cy + bh / 2) * Double(h))
                let color = color(forClass: cls)
                try canvas.drawRectangle(
                    x1: x1, y1: y1, x2: x2, y2: y2, color: color, thickness: lineWidth, antialiased: false)
                let label = cls < names.count ? names[cls] : "\(cls)"
                try drawLabel(label, on: canvas, at: (x1, y1), color: color, scale: textScale, thickness: textThickness)
            }
        }
        return canvas
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
