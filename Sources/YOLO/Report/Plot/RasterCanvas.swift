import Foundation
import Vision

/// The canvas as an OpenCV image (BGR), anti-aliased; what the PNG and JPEG plots are drawn on.
public final class RasterCanvas: Canvas {
    public let image: Image
    public var width: Int { image.width }
    public var height: Int { image.height }

    public init(width: Int, height: Int, background: Color = .white) throws {
        image = try Image(width: width, height: height, fill: background)
    }

    public func polyline(_ points: [Point], stroke: Stroke, closed: Bool) throws {
        guard !points.isEmpty else { return }
        let path = closed ? points + [points[0]] : points
        let thickness = max(1, Int(stroke.width.rounded()))
        switch stroke.pattern {
        case .solid:
            if path.count > 1 { try image.drawPolyline(path, color: stroke.color, thickness: thickness) }
        case .dashed(let on, let off):
            for dash in Dashes.segments(along: path, on: on, off: off) where dash.count > 1 {
                try image.drawPolyline(dash, color: stroke.color, thickness: thickness)
            }
        case .dotted(let spacing):
            for p in Dashes.dots(along: path, spacing: spacing) {
                try image.fillCircle(center: p, radius: stroke.width * 0.55, color: stroke.color, antialiased: true)
            }
        }
    }

    public func rectangle(_ rect: PlotRect, fill: Color?, stroke: Stroke?) throws {
        // Pixel edges: a cell from x to x + width covers pixels x ..< x + width, so neighbours meet without a gap.
        let x1 = Int(rect.x.rounded()), y1 = Int(rect.y.rounded())
        let x2 = Int(rect.maxX.rounded()) - 1, y2 = Int(rect.maxY.rounded()) - 1
        if let fill, x2 >= x1, y2 >= y1 { try image.fillRectangle(x1: x1, y1: y1, x2: x2, y2: y2, color: fill) }
        if let stroke {
            try polyline(
                [Point(rect.x, rect.y), Point(rect.maxX, rect.y), Point(rect.maxX, rect.maxY), Point(rect.x, rect.maxY)],
                stroke: stroke, closed: true)
        }
    }

    public func circle(center: Point, radius: Double, fill: Color) throws {
        try image.fillCircle(center: center, radius: radius, color: fill, antialiased: true)
    }

    public func text(_ text: String, at point: Point, style: TextStyle) throws {
        guard !text.isEmpty else { return }
        let (dx, dy) = TextMetrics.origin(text, style: style)
        let scale = TextMetrics.hersheyScale(style.size), thickness = TextMetrics.hersheyThickness(style.size)
        if !style.rotated {
            try image.drawText(text, x: Int((point.x + dx).rounded()), y: Int((point.y + dy).rounded()), scale: scale,
                               color: style.color, thickness: thickness)
            return
        }
        // OpenCV draws no rotated text: draw it level on a white tile, then blend the tile in turned a quarter turn
        // counter-clockwise, its darkness as coverage.
        let m = TextMetrics.size(text, size: style.size)
        let pad = 2 + thickness
        let tileWidth = Int(m.width.rounded(.up)) + 2 * pad
        let tileHeight = Int((m.ascent + m.descent).rounded(.up)) + 2 * pad
        let tile = try Image(width: tileWidth, height: tileHeight, fill: .white)
        let baseline = pad + Int(m.ascent.rounded())
        try tile.drawText(text, x: pad, y: baseline, scale: scale, color: .black, thickness: thickness)
        // A tile pixel (tx, ty) is (tx - pad + dx, ty - baseline + dy) from the anchor along the text; turned, the
        // text's x runs up the canvas and its y runs right.
        let (w, h) = (width, height)
        let ink = [Double(style.color.b), Double(style.color.g), Double(style.color.r)]
        tile.withUnsafeBytes { source in
            image.withUnsafeMutableBytes { target in
                for ty in 0 ..< tileHeight {
                    for tx in 0 ..< tileWidth {
                        let coverage = 1 - Double(source[(ty * tileWidth + tx) * 3]) / 255
                        guard coverage > 0 else { continue }
                        let along = Double(tx - pad) + dx, across = Double(ty - baseline) + dy
                        let cx = Int((point.x + across).rounded()), cy = Int((point.y - along).rounded())
                        guard cx >= 0, cx < w, cy >= 0, cy < h else { continue }
                        let at = (cy * w + cx) * 3
                        for c in 0 ..< 3 {
                            target[at + c] = UInt8((Double(target[at + c]) * (1 - coverage) + ink[c] * coverage).rounded())
                        }
                    }
                }
            }
        }
    }
}

/// Dash patterns walked along a polyline, shared by the raster back end (SVG has its own dash arrays).
enum Dashes {
    /// Points every `spacing` pixels along `points`, from the first.
    static func dots(along points: [Point], spacing: Double) -> [Point] {
        guard let first = points.first, spacing > 0 else { return [] }
        var result = [first], carry = 0.0  // distance walked since the last dot
        for (a, b) in zip(points, points.dropFirst()) {
            let length = hypot(b.x - a.x, b.y - a.y)
            guard length > 0 else { continue }
            var t = spacing - carry
            while t <= length {
                result.append(Point(a.x + (b.x - a.x) * t / length, a.y + (b.y - a.y) * t / length))
                t += spacing
            }
            carry = length - (t - spacing)
        }
        return result
    }

    /// The pieces of `points` drawn by an `on`/`off` dash pattern.
    static func segments(along points: [Point], on: Double, off: Double) -> [[Point]] {
        guard on > 0, off >= 0 else { return [points] }
        var result: [[Point]] = [], current: [Point] = []
        var drawing = true, left = on  // the state of the pattern and what is left of its current phase
        if let first = points.first { current = [first] }
        for (a, b) in zip(points, points.dropFirst()) {
            let length = hypot(b.x - a.x, b.y - a.y)
            var walked = 0.0
            while length - walked > left {
                walked += left
                let p = Point(a.x + (b.x - a.x) * walked / length, a.y + (b.y - a.y) * walked / length)
                if drawing { current.append(p); result.append(current); current = [] } else { current = [p] }
                drawing.toggle()
                left = drawing ? on : off
            }
            left -= length - walked
            if drawing { current.append(b) }
        }
        if drawing, current.count > 1 { result.append(current) }
        return result
    }
}
