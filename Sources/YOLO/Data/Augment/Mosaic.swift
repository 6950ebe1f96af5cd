import Vision

/// Four images around a random centre on a grey canvas twice the training size (the reference's `Mosaic`, n = 4).
/// The canvas then goes through `RandomPerspective`, which brings it back to the training size.
public struct Mosaic: Sendable {
    public var imgsz: Int

    public init(imgsz: Int) { self.imgsz = imgsz }

    /// `tiles[0]` top-left of the centre, then top-right, bottom-left, bottom-right. Boxes are clipped to the
    /// canvas and those left without area dropped.
    public func apply(_ tiles: [LabeledImage], rng: inout SampleRNG) throws -> LabeledImage {
        precondition(tiles.count == 4, "a mosaic takes 4 images")
        let s = imgsz, border = floorDiv(-s, 2)  // the reference's -imgsz // 2
        let yc = Int(rng.uniform(Double(-border), Double(2 * s + border)))
        let xc = Int(rng.uniform(Double(-border), Double(2 * s + border)))
        let canvas = try Image(width: 2 * s, height: 2 * s, channels: tiles[0].image.channels, fill: 114)
        var labels = ObjectLabels()
        for (i, tile) in tiles.enumerated() {
            let (h, w) = (tile.image.height, tile.image.width)
            let a: (x1: Int, y1: Int, x2: Int, y2: Int)  // on the canvas
            let b: (x1: Int, y1: Int, x2: Int, y2: Int)  // in the tile
            switch i {
            case 0:
                a = (max(xc - w, 0), max(yc - h, 0), xc, yc)
                b = (w - (a.x2 - a.x1), h - (a.y2 - a.y1), w, h)
            case 1:
                a = (xc, max(yc - h, 0), min(xc + w, 2 * s), yc)
                b = (0, h - (a.y2 - a.y1), min(w, a.x2 - a.x1), h)
            case 2:
                a = (max(xc - w, 0), yc, xc, min(2 * s, yc + h))
                b = (w - (a.x2 - a.x1), 0, w, min(a.y2 - a.y1, h))
            default:
                a = (xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h))
                b = (0, 0, min(w, a.x2 - a.x1), min(a.y2 - a.y1, h))
            }
            if b.x2 > b.x1, b.y2 > b.y1 {
                try canvas.paste(
                    tile.image, x: a.x1, y: a.y1, region: (b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1))
            }
            var moved = tile.labels
            moved.translate(dx: Float(a.x1 - b.x1), dy: Float(a.y1 - b.y1))
            labels.append(moved)
        }
        labels.clip(width: Float(2 * s), height: Float(2 * s))
        labels.removeEmptyBoxes()
        var out = tiles[0]
        out.image = canvas
        out.labels = labels
        out.resizedShape = ImageShape(height: 2 * s, width: 2 * s)
        return out
    }
}

/// Python's floor division.
func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
