import Foundation
import Vision

/// A legend box in matplotlib's default look: a short sample of each series' line, its label to the right, a light
/// grey frame. Sizes are matplotlib's, in font sizes: border pad 0.4, row spacing 0.5, sample 2.0, gap 0.8.
public struct Legend: Sendable {
    public struct Entry: Sendable {
        public var label: String
        public var stroke: Stroke
        /// A dot on the sample, for series drawn with markers.
        public var markerRadius: Double?

        public init(label: String, stroke: Stroke, markerRadius: Double? = nil) {
            (self.label, self.stroke, self.markerRadius) = (label, stroke, markerRadius)
        }
    }

    public var entries: [Entry]
    public var fontSize: Double

    public init(entries: [Entry], fontSize: Double) {
        self.entries = entries
        self.fontSize = fontSize
    }

    private var pad: Double { 0.4 * fontSize }
    private var rowHeight: Double { 1.15 * fontSize }
    private var spacing: Double { 0.5 * fontSize }
    private var sample: Double { 2 * fontSize }
    private var gap: Double { 0.8 * fontSize }

    public var width: Double {
        let widest = entries.map { TextMetrics.size($0.label, size: fontSize).width }.max() ?? 0
        return 2 * pad + sample + gap + widest + pad
    }

    public var height: Double {
        entries.isEmpty ? 0 : 2 * pad + Double(entries.count) * rowHeight + Double(entries.count - 1) * spacing
    }

    /// Draws the legend with its top left corner at `corner`.
    public func draw(on canvas: Canvas, at corner: Point, frameWidth: Double) throws {
        guard !entries.isEmpty else { return }
        try canvas.rectangle(PlotRect(x: corner.x, y: corner.y, width: width, height: height), fill: .white,
                             stroke: Stroke(color: Palette.frame, width: frameWidth))
        for (i, entry) in entries.enumerated() {
            let middle = corner.y + pad + Double(i) * (rowHeight + spacing) + rowHeight / 2
            let a = Point(corner.x + pad, middle), b = Point(corner.x + pad + sample, middle)
            try canvas.line(from: a, to: b, stroke: entry.stroke)
            if let radius = entry.markerRadius {
                try canvas.circle(center: Point((a.x + b.x) / 2, middle), radius: radius, fill: entry.stroke.color)
            }
            try canvas.text(entry.label, at: Point(b.x + gap, middle),
                            style: TextStyle(size: fontSize, vertical: .middle))
        }
    }
}
