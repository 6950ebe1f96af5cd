import Foundation
import Vision

/// The classes of the built-in dataset, in class-index order. Each is chosen to stay unambiguous under any
/// rotation, stretch and colour the generator gives it: a circle is never stretched (a stretched circle is an
/// ellipse), and an ellipse is always clearly longer than wide.
enum ShapeKind: Int, CaseIterable, Sendable {
    case circle, square, triangle, star, cross, ellipse

    var name: String { "\(self)" }

    /// Height over width before rotation, drawn for one shape.
    func aspect(_ rng: inout SplitMixRandom) -> Double {
        switch self {
        case .circle, .square: 1
        case .triangle: rng.uniform(0.75, 1.35)
        case .star, .cross: rng.uniform(0.85, 1.15)
        case .ellipse: rng.uniform(0.38, 0.6)
        }
    }

    /// Whether turning the shape changes how it looks (a circle's angle is left at 0).
    var rotates: Bool { self != .circle }
}

/// One shape of a scene: what it is, where, and how it is drawn. `radius` is the half-width before rotation;
/// the half-height is `radius * aspect`.
struct PlacedShape: Sendable {
    var kind: ShapeKind
    var center: Point
    var radius: Double
    var aspect: Double
    var angle: Double  // degrees, clockwise on screen
    var color: Color
    /// Pixel corners of the drawn shape, both inclusive, inside the image.
    var box: PixelBox

    /// Draws the shape, with exact (not antialiased) edges so a mask drawn the same way covers the same pixels.
    func draw(on image: Image, color: Color) throws {
        switch kind {
        case .circle:
            try image.fillCircle(center: center, radius: radius, color: color)
        case .ellipse:
            try image.fillEllipse(
                center: center, radiusX: radius, radiusY: radius * aspect, angle: angle, color: color)
        default:
            try image.fillPolygon(vertices(), color: color)
        }
    }

    /// The outline of any shape, in image coordinates: the corners of a polygonal one, `samples` points around a
    /// circle or an ellipse.
    func outline(samples: Int = 36) -> [Point] {
        guard kind == .circle || kind == .ellipse else { return vertices() }
        let rx = radius, ry = kind == .circle ? radius : radius * aspect
        let a = angle * .pi / 180, c = cos(a), s = sin(a)
        return (0..<samples).map { i in
            let t = Double(i) * 2 * .pi / Double(samples)
            let x = rx * cos(t), y = ry * sin(t)
            return Point(center.x + x * c - y * s, center.y + x * s + y * c)
        }
    }

    /// The outline of a polygonal shape, in image coordinates.
    func vertices() -> [Point] {
        let rx = radius, ry = radius * aspect
        let unit: [(Double, Double)]
        switch kind {
        case .square:
            unit = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        case .triangle:
            unit = [-90.0, 30, 150].map { (cos($0 * .pi / 180), sin($0 * .pi / 180)) }
        case .star:
            unit = (0 ..< 10).map { i in
                let r = i % 2 == 0 ? 1 : 0.42
                let a = (-90 + Double(i) * 36) * .pi / 180
                return (r * cos(a), r * sin(a))
            }
        case .cross:
            let t = 0.34  // half the arm thickness, as a fraction of the half-extent
            unit = [(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t), (-1, -t),
                    (-t, -t)]
        case .circle, .ellipse:
            unit = []
        }
        let a = angle * .pi / 180, c = cos(a), s = sin(a)
        return unit.map { u in
            let x = u.0 * rx, y = u.1 * ry
            return Point(center.x + x * c - y * s, center.y + x * s + y * c)
        }
    }
}

/// A rectangle of pixels, corners inclusive.
struct PixelBox: Equatable, Sendable {
    var x1: Int, y1: Int, x2: Int, y2: Int

    var width: Int { x2 - x1 + 1 }
    var height: Int { y2 - y1 + 1 }

    /// The YOLO label fields: centre and size normalized by the image size, the box covering whole pixels.
    func normalized(width w: Int, height h: Int) -> (cx: Double, cy: Double, w: Double, h: Double) {
        (Double(x1 + x2 + 1) / 2 / Double(w), Double(y1 + y2 + 1) / 2 / Double(h), Double(width) / Double(w),
         Double(height) / Double(h))
    }
}
