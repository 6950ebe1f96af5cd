import Foundation
import Vision

/// A surface a chart draws on, in pixels (x right, y down). Every chart is written once against this protocol and
/// rendered by either back end: `RasterCanvas` (an OpenCV image, for the PNG and JPEG files the reference writes)
/// or `SVGCanvas` (a document, for reports that embed vector charts).
///
///     let canvas = SVGCanvas(width: 400, height: 300)
///     try canvas.line(from: Point(0, 0), to: Point(400, 300), stroke: Stroke(color: .black, width: 2))
///     try canvas.text("0.5", at: Point(10, 10), style: TextStyle(size: 14, horizontal: .right, vertical: .middle))
public protocol Canvas: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// Straight segments through `points`, back to the first when `closed`.
    func polyline(_ points: [Point], stroke: Stroke, closed: Bool) throws
    /// A rectangle, filled and/or outlined.
    func rectangle(_ rect: PlotRect, fill: Color?, stroke: Stroke?) throws
    func circle(center: Point, radius: Double, fill: Color) throws
    /// `text` placed by `style`'s anchor at `point`; rotated text reads bottom to top, its anchor turned with it.
    func text(_ text: String, at point: Point, style: TextStyle) throws
}

extension Canvas {
    public func line(from a: Point, to b: Point, stroke: Stroke) throws {
        try polyline([a, b], stroke: stroke, closed: false)
    }

    public func polyline(_ points: [Point], stroke: Stroke) throws {
        try polyline(points, stroke: stroke, closed: false)
    }
}

/// A rectangle in pixels.
public struct PlotRect: Equatable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }

    /// The rectangle shrunk by `left`, `top`, `right` and `bottom` pixels.
    public func inset(left: Double = 0, top: Double = 0, right: Double = 0, bottom: Double = 0) -> PlotRect {
        PlotRect(x: x + left, y: y + top, width: width - left - right, height: height - top - bottom)
    }
}

/// How a line is drawn: its colour, width in pixels, and pattern.
public struct Stroke: Equatable, Sendable {
    public enum Pattern: Equatable, Sendable {
        case solid
        case dashed(on: Double, off: Double)
        /// Round dots `spacing` pixels apart: matplotlib's ":" style.
        case dotted(spacing: Double)
    }

    public var color: Color
    public var width: Double
    public var pattern: Pattern

    public init(color: Color, width: Double = 1, pattern: Pattern = .solid) {
        (self.color, self.width, self.pattern) = (color, width, pattern)
    }
}

/// How text is drawn: its size (the em in pixels), colour, where the anchor point sits on it, and whether it is
/// turned a quarter turn counter-clockwise (a y-axis label).
public struct TextStyle: Equatable, Sendable {
    public enum Horizontal: Sendable { case left, center, right }
    public enum Vertical: Sendable { case top, middle, baseline, bottom }

    public var size: Double
    public var color: Color
    public var horizontal: Horizontal
    public var vertical: Vertical
    public var rotated: Bool

    public init(
        size: Double, color: Color = Palette.ink, horizontal: Horizontal = .left, vertical: Vertical = .baseline,
        rotated: Bool = false
    ) {
        (self.size, self.color, self.horizontal, self.vertical, self.rotated) =
            (size, color, horizontal, vertical, rotated)
    }
}

/// Text sizes, the same for both back ends so a chart lays out identically in PNG and SVG. They are OpenCV's
/// Hershey simplex metrics scaled so its capitals are as tall as a sans-serif font's (0.72 em).
public enum TextMetrics {
    /// The OpenCV Hershey font scale that draws text of em `size`.
    static func hersheyScale(_ size: Double) -> Double { size * 0.72 / 22 }

    /// Stroke thickness of Hershey text of em `size`: about a thirteenth of the capital height.
    static func hersheyThickness(_ size: Double) -> Int { max(1, Int((size / 18).rounded())) }

    /// Width, height above the baseline, and depth below it, of `text` at em `size`.
    public static func size(_ text: String, size: Double) -> (width: Double, ascent: Double, descent: Double) {
        guard !text.isEmpty,
            let measured = try? Image.textSize(text, scale: hersheyScale(size), thickness: hersheyThickness(size))
        else { return (0, size * 0.72, size * 0.2) }
        return (Double(measured.width), Double(measured.height), Double(measured.baseline))
    }

    /// Where the left end of the baseline goes, along the text's own axes, relative to its anchor.
    static func origin(_ text: String, style: TextStyle) -> (dx: Double, dy: Double) {
        let m = size(text, size: style.size)
        let dx: Double = switch style.horizontal {
        case .left: 0
        case .center: -m.width / 2
        case .right: -m.width
        }
        let dy: Double = switch style.vertical {
        case .top: m.ascent
        case .middle: m.ascent / 2
        case .baseline: 0
        case .bottom: -m.descent
        }
        return (dx, dy)
    }
}
