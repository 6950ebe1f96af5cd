import COpenCV

/// A point in image coordinates (x right, y down); fractional positions are kept to 1/16 pixel.
public struct Point: Equatable, Hashable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    public init(_ x: Double, _ y: Double) { self.init(x: x, y: y) }
}

/// Lines, polygons and ellipses, in place. `antialiased: false` draws LINE_8, whose pixels are exact (the built-in
/// dataset draws a shape and its mask with the same call, so both cover the same pixels).
extension Image {
    /// A straight segment from `a` to `b`.
    public func drawLine(
        from a: Point, to b: Point, color: Color, thickness: Int = 1, antialiased: Bool = true
    ) throws {
        try drawPolyline([a, b], color: color, thickness: thickness, antialiased: antialiased)
    }

    /// Straight segments through `points`, back to the first when `closed`.
    public func drawPolyline(
        _ points: [Point], closed: Bool = false, color: Color, thickness: Int = 1, antialiased: Bool = true
    ) throws {
        let xy = flatten(points)
        try checked(cvs_draw_polyline(
            handle, xy, Int32(points.count), closed ? 1 : 0, Double(color.b), Double(color.g), Double(color.r),
            Int32(max(thickness, 1)), antialiased ? 1 : 0))
    }

    /// The polygon through `points` filled (convex or not, as cv::fillPoly).
    public func fillPolygon(_ points: [Point], color: Color, antialiased: Bool = false) throws {
        let xy = flatten(points)
        try checked(cvs_fill_polygon(
            handle, xy, Int32(points.count), Double(color.b), Double(color.g), Double(color.r), antialiased ? 1 : 0))
    }

    /// The outline of an ellipse with half-axes (`radiusX`, `radiusY`) rotated `angle` degrees clockwise.
    public func drawEllipse(
        center: Point, radiusX: Double, radiusY: Double, angle: Double = 0, color: Color, thickness: Int = 1,
        antialiased: Bool = true
    ) throws {
        try ellipse(center, radiusX, radiusY, angle, color, Int32(max(thickness, 1)), antialiased)
    }

    /// The ellipse with half-axes (`radiusX`, `radiusY`) rotated `angle` degrees clockwise, filled.
    public func fillEllipse(
        center: Point, radiusX: Double, radiusY: Double, angle: Double = 0, color: Color, antialiased: Bool = false
    ) throws {
        try ellipse(center, radiusX, radiusY, angle, color, -1, antialiased)
    }

    /// The circle of `radius` around `center`, filled.
    public func fillCircle(center: Point, radius: Double, color: Color, antialiased: Bool = false) throws {
        try ellipse(center, radius, radius, 0, color, -1, antialiased)
    }

    private func ellipse(
        _ center: Point, _ rx: Double, _ ry: Double, _ angle: Double, _ color: Color, _ thickness: Int32,
        _ antialiased: Bool
    ) throws {
        try checked(cvs_draw_ellipse(
            handle, center.x, center.y, rx, ry, angle, Double(color.b), Double(color.g), Double(color.r), thickness,
            antialiased ? 1 : 0))
    }

    private func flatten(_ points: [Point]) -> [Double] {
        points.flatMap { [$0.x, $0.y] }
    }
}
