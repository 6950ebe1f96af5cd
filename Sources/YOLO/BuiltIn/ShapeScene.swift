import Foundation
import Vision

/// One generated image and its shapes. Shapes are drawn in order (later ones on top); each keeps the box of the
/// whole shape as drawn, clipped to the image, even where a later shape covers part of it (as a person labels an
/// occluded object). Placement keeps occlusion partial, so every labelled shape stays recognisable.
struct ShapeScene {
    let image: Image
    let shapes: [PlacedShape]

    /// Limits for one image, scaled to its size.
    struct Layout: Sendable {
        var maxShapes = 6
        /// Half-width of a shape as a fraction of the image side, sampled log-uniformly.
        var radius: ClosedRange<Double> = 0.05 ... 0.2
        /// How far inside the border a shape's centre stays, in half-extents (1: the whole shape inside).
        var inside = 0.85
        /// The most of an earlier shape's pixels a later one may cover.
        var maxCovered = 0.35
        /// Smallest box side in pixels.
        var minSide = 8
        /// Shortest RGB distance between a shape and what lies under it.
        var minContrast = 90.0
    }

    /// The scene for one seeded generator: same generator state, same pixels and shapes.
    static func generate(size: Int, layout: Layout = Layout(), rng: inout SplitMixRandom) throws -> ShapeScene {
        let image = try Background.make(width: size, height: size, rng: &rng)
        let background = image.bytes
        let mask = try Image(width: size, height: size, channels: 1)
        // The index + 1 of the shape on top at each pixel, 0 for background.
        var owner = [UInt8](repeating: 0, count: size * size)
        // Pixels each shape covers as drawn, and how many of them are still on top.
        var pixelCounts: [Int] = [], visible: [Int] = []
        var shapes: [PlacedShape] = []

        let wanted = rng.int(1 ... layout.maxShapes)
        var attempts = 0
        while shapes.count < wanted, attempts < wanted * 30 {
            attempts += 1
            let kind = ShapeKind.allCases[rng.int(0 ... ShapeKind.allCases.count - 1)]
            let logRadius = rng.uniform(log(layout.radius.lowerBound), log(layout.radius.upperBound))
            let radius = exp(logRadius) * Double(size)
            let aspect = kind.aspect(&rng)
            // Mostly inside the image: a shape cut deep by the border stops looking like its class (a square's
            // corner is a triangle).
            let margin = layout.inside * radius * max(1, aspect)
            var shape = PlacedShape(
                kind: kind,
                center: Point(rng.uniform(margin, Double(size) - margin), rng.uniform(margin, Double(size) - margin)),
                radius: radius, aspect: aspect, angle: kind.rotates ? rng.uniform(0, 360) : 0,
                color: .black, box: PixelBox(x1: 0, y1: 0, x2: 0, y2: 0))

            mask.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) }
            try shape.draw(on: mask, color: .white)
            guard let footprint = Footprint(mask: mask, around: shape), footprint.box.width >= layout.minSide,
                footprint.box.height >= layout.minSide
            else { continue }

            // Reject a placement that would leave too little of an earlier shape in sight.
            var covered = [Int](repeating: 0, count: shapes.count)
            for i in footprint.pixels where owner[i] > 0 { covered[Int(owner[i]) - 1] += 1 }
            let hidesTooMuch = covered.indices.contains {
                Double(visible[$0] - covered[$0]) < (1 - layout.maxCovered) * Double(pixelCounts[$0])
            }
            if hidesTooMuch { continue }

            guard let color = pickColor(
                footprint: footprint, background: background, owner: owner, shapes: shapes,
                minContrast: layout.minContrast, rng: &rng)
            else { continue }
            shape.color = color
            shape.box = footprint.box
            try shape.draw(on: image, color: color)
            for i in footprint.pixels { owner[i] = UInt8(shapes.count + 1) }
            for j in covered.indices { visible[j] -= covered[j] }
            pixelCounts.append(footprint.pixels.count)
            visible.append(footprint.pixels.count)
            shapes.append(shape)
        }
        return ShapeScene(image: image, shapes: shapes)
    }

    /// A saturated colour far from everything under the footprint (background and earlier shapes), or nil when
    /// a few tries find none.
    private static func pickColor(
        footprint: Footprint, background: [UInt8], owner: [UInt8], shapes: [PlacedShape], minContrast: Double,
        rng: inout SplitMixRandom
    ) -> Color? {
        // Colours under the shape: the background's mean and every earlier shape it overlaps.
        var sum = (0.0, 0.0, 0.0)
        var under = Set<Int>()
        for i in footprint.pixels {
            sum.0 += Double(background[3 * i])
            sum.1 += Double(background[3 * i + 1])
            sum.2 += Double(background[3 * i + 2])
            if owner[i] > 0 { under.insert(Int(owner[i]) - 1) }
        }
        let n = Double(footprint.pixels.count)
        var avoid = [(sum.0 / n, sum.1 / n, sum.2 / n)]
        avoid += under.sorted().map { i in
            (Double(shapes[i].color.b), Double(shapes[i].color.g), Double(shapes[i].color.r))
        }

        for _ in 0 ..< 12 {
            let c = hsvColor(hue: rng.unit(), saturation: rng.uniform(0.55, 1), value: rng.uniform(0.35, 1))
            let distance = avoid.map { a in
                let db = Double(c.b) - a.0, dg = Double(c.g) - a.1, dr = Double(c.r) - a.2
                return (db * db + dg * dg + dr * dr).squareRoot()
            }.min()!
            if distance >= minContrast { return c }
        }
        return nil
    }
}

/// The pixels a shape covers, from its mask: their indices (row-major) and their bounding box.
struct Footprint {
    let pixels: [Int]
    let box: PixelBox

    /// Nil when the mask is empty (a shape entirely outside the image). Only the square that can hold `shape` is
    /// searched: every vertex lies within 1.5 half-extents of its centre.
    init?(mask: Image, around shape: PlacedShape) {
        let width = mask.width, height = mask.height
        let reach = 1.5 * shape.radius * max(1, shape.aspect) + 2
        let left = max(0, Int(shape.center.x - reach)), right = min(width - 1, Int(shape.center.x + reach))
        let top = max(0, Int(shape.center.y - reach)), bottom = min(height - 1, Int(shape.center.y + reach))
        var pixels: [Int] = []
        var x1 = Int.max, y1 = Int.max, x2 = -1, y2 = -1
        if left <= right, top <= bottom {
            mask.withUnsafeBytes { bytes in
                for y in top ... bottom {
                    for x in left ... right where bytes[y * width + x] != 0 {
                        pixels.append(y * width + x)
                        x1 = min(x1, x); x2 = max(x2, x)
                        y1 = min(y1, y); y2 = max(y2, y)
                    }
                }
            }
        }
        if pixels.isEmpty { return nil }
        self.pixels = pixels
        box = PixelBox(x1: x1, y1: y1, x2: x2, y2: y2)
    }
}
