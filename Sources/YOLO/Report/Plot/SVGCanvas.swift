import Foundation
import Vision

/// The canvas as an SVG document: one element per call, coordinates in pixels, text in a sans-serif font at the
/// size the layout measured. `document` is self-contained, ready to write to a file or embed in HTML.
public final class SVGCanvas: Canvas {
    public let width: Int
    public let height: Int
    private var elements: [String] = []

    public init(width: Int, height: Int, background: Color? = .white) {
        self.width = width
        self.height = height
        if let background {
            elements.append(#"<rect x="0" y="0" width="\#(width)" height="\#(height)" fill="\#(hex(background))"/>"#)
        }
    }

    /// The whole document.
    public var document: String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
        font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        \(elements.joined(separator: "\n"))
        </svg>

        """
    }

    public func polyline(_ points: [Point], stroke: Stroke, closed: Bool) throws {
        guard !points.isEmpty else { return }
        let list = points.map { "\(number($0.x)),\(number($0.y))" }.joined(separator: " ")
        elements.append("<\(closed ? "polygon" : "polyline") points=\"\(list)\" fill=\"none\" \(attributes(stroke))/>")
    }

    public func rectangle(_ rect: PlotRect, fill: Color?, stroke: Stroke?) throws {
        let fillText = fill.map(hex) ?? "none"
        let strokeText = stroke.map { " " + attributes($0) } ?? ""
        elements.append(#"<rect x="\#(number(rect.x))" y="\#(number(rect.y))" width="\#(number(rect.width))" "#
            + #"height="\#(number(rect.height))" fill="\#(fillText)"\#(strokeText)/>"#)
    }

    public func circle(center: Point, radius: Double, fill: Color) throws {
        elements.append(#"<circle cx="\#(number(center.x))" cy="\#(number(center.y))" r="\#(number(radius))" "#
            + #"fill="\#(hex(fill))"/>"#)
    }

    public func text(_ text: String, at point: Point, style: TextStyle) throws {
        guard !text.isEmpty else { return }
        // The vertical offset comes from the shared metrics; the horizontal anchor is left to the renderer, whose
        // font may be a little wider or narrower than the measured one.
        let (_, dy) = TextMetrics.origin(text, style: style)
        let anchor = switch style.horizontal {
        case .left: "start"
        case .center: "middle"
        case .right: "end"
        }
        let turn = style.rotated ? #" transform="rotate(-90 \#(number(point.x)) \#(number(point.y)))""# : ""
        elements.append(#"<text x="\#(number(point.x))" y="\#(number(point.y + dy))" font-size="\#(number(style.size))" "#
            + #"fill="\#(hex(style.color))" text-anchor="\#(anchor)"\#(turn)>\#(escaped(text))</text>"#)
    }

    private func attributes(_ stroke: Stroke) -> String {
        var text = #"stroke="\#(hex(stroke.color))" stroke-width="\#(number(stroke.width))" stroke-linejoin="round""#
        switch stroke.pattern {
        case .solid: break
        case .dashed(let on, let off): text += #" stroke-dasharray="\#(number(on)) \#(number(off))""#
        case .dotted(let spacing):
            // Zero-length dashes with round caps are dots as wide as the line.
            text += #" stroke-dasharray="0 \#(number(spacing))" stroke-linecap="round""#
        }
        return text
    }

    private func hex(_ c: Color) -> String { String(format: "#%02x%02x%02x", c.r, c.g, c.b) }

    /// Two decimals at most, trailing zeros dropped: enough for pixels, and short. Integer arithmetic, because a
    /// chart has tens of thousands of numbers and String(format:) is slow.
    private func number(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return "0" }
        let hundredths = Int((v * 100).rounded())
        let sign = hundredths < 0 ? "-" : "", magnitude = abs(hundredths)
        let whole = String(magnitude / 100), fraction = magnitude % 100
        if fraction == 0 { return sign + whole }
        if fraction % 10 == 0 { return sign + whole + "." + String(fraction / 10) }
        return sign + whole + (fraction < 10 ? ".0" : ".") + String(fraction)
    }

    private func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
