import Vision

/// Four images around a random centre on a grey canvas twice the training size (the reference's `Mosaic`, n = 4).
/// The canvas then goes through `RandomPerspective`, which brings it back to the training size.
public struct Mosaic: Sendable {
    public var imgsz: Int

    public init(imgsz: Int) { self.imgsz = imgsz }

    /// Where each tile goes: `canvas` is the rectangle it covers on the canvas, `tile` the same-sized part of the
    /// tile that is copied there.
    public struct Placement: Sendable, Equatable {
        public var canvas: (x: Int, y: Int, width: Int, height: Int)
        public var tile: (x: Int, y: Int)

        public static func == (a: Placement, b: Placement) -> Bool {
            a.canvas == b.canvas && a.tile == b.tile
        }
    }

    /// The side of the square canvas.
    public var canvasSize: Int { 2 * imgsz }

    /// `tiles[0]` top-left of the centre, then top-right, bottom-left, bottom-right.
    public func apply(_ tiles: [LabeledImage], rng: inout SampleRNG) throws -> LabeledImage {
        let placements = layout(tiles.map(\.shape), rng: &rng)
        var out = tiles[0]
        out.image = try canvas(tiles, placements, region: (0, 0, canvasSize, canvasSize))
        out.labels = labels(tiles, placements)
        out.resizedShape = ImageShape(height: canvasSize, width: canvasSize)
        return out
    }

    /// The reference's placement of 4 tiles of these shapes around a centre drawn in the middle half of the canvas.
    public func layout(_ shapes: [ImageShape], rng: inout SampleRNG) -> [Placement] {
        precondition(shapes.count == 4, "a mosaic takes 4 images")
        let s = imgsz
        let border = floorDiv(-s, 2)  // the reference's -imgsz // 2
        let yc = Int(rng.uniform(Double(-border), Double(2 * s + border)))
        let xc = Int(rng.uniform(Double(-border), Double(2 * s + border)))
        return shapes.enumerated().map { i, shape in
            let (h, w) = (shape.height, shape.width)
            let a: (x1: Int, y1: Int, x2: Int, y2: Int)  // on the canvas
            let b: (x1: Int, y1: Int)  // in the tile
            switch i {
            case 0:
                a = (max(xc - w, 0), max(yc - h, 0), xc, yc)
                b = (w - (a.x2 - a.x1), h - (a.y2 - a.y1))
            case 1:
                a = (xc, max(yc - h, 0), min(xc + w, 2 * s), yc)
                b = (0, h - (a.y2 - a.y1))
            case 2:
                a = (max(xc - w, 0), yc, xc, min(2 * s, yc + h))
                b = (w - (a.x2 - a.x1), 0)
            default:
                a = (xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h))
                b = (0, 0)
            }
            return Placement(canvas: (a.x1, a.y1, a.x2 - a.x1, a.y2 - a.y1), tile: (b.x1, b.y1))
        }
    }

    /// The part `region` (x, y, width, height) of the canvas: grey, with the tiles pasted where they overlap it.
    /// Building only the part a warp reads saves filling and copying the rest.
    public func canvas(
        _ tiles: [LabeledImage], _ placements: [Placement], region: (x: Int, y: Int, width: Int, height: Int)
    ) throws -> Image {
        let canvas = try Image(width: region.width, height: region.height, channels: tiles[0].image.channels, fill: 114)
        for (tile, p) in zip(tiles, placements) {
            let x1 = max(p.canvas.x, region.x)
            let y1 = max(p.canvas.y, region.y)
            let x2 = min(p.canvas.x + p.canvas.width, region.x + region.width)
            let y2 = min(p.canvas.y + p.canvas.height, region.y + region.height)
            guard x2 > x1, y2 > y1 else { continue }
            try canvas.paste(
                tile.image, x: x1 - region.x, y: y1 - region.y,
                region: (p.tile.x + x1 - p.canvas.x, p.tile.y + y1 - p.canvas.y, x2 - x1, y2 - y1))
        }
        return canvas
    }

    /// The tiles' objects on the canvas, clipped to it; those left without area dropped.
    public func labels(_ tiles: [LabeledImage], _ placements: [Placement]) -> ObjectLabels {
        var labels = ObjectLabels(keypoints: tiles.first?.labels.keypoints.map { _ in [] })  // pose tiles keep theirs
        for (tile, p) in zip(tiles, placements) {
            var moved = tile.labels
            moved.translate(dx: Float(p.canvas.x - p.tile.x), dy: Float(p.canvas.y - p.tile.y))
            labels.append(moved)
        }
        labels.clip(width: Float(canvasSize), height: Float(canvasSize))
        labels.removeEmptyBoxes()
        return labels
    }
}

/// Python's floor division.
func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
