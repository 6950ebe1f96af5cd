import Foundation
import Vision

/// matplotlib's default sizes at a resolution, in pixels: `pt` pixels per typographic point (dpi / 72).
public struct PlotStyle: Sendable {
    public var pt: Double

    public init(dpi: Double) { pt = dpi / 72 }
    public init(pixelsPerPoint: Double) { pt = pixelsPerPoint }

    public var fontSize: Double { 10 * pt }
    public var titleSize: Double { 12 * pt }
    public var tickLength: Double { 3.5 * pt }
    public var tickPad: Double { 3.5 * pt }
    public var labelPad: Double { 4 * pt }
    public var titlePad: Double { 6 * pt }
    public var spineWidth: Double { 0.8 * pt }
    /// tight_layout's padding around the figure's contents.
    public var figurePad: Double { 1.08 * fontSize }
}

/// One axis of a chart: its data limits, tick positions with their labels, and its title.
public struct Axis: Sendable {
    public var low: Double, high: Double
    public var ticks: [Double], labels: [String]
    public var title: String?
    /// Tick labels turned to read bottom to top (long category names on an x axis).
    public var rotatedLabels = false
    public var labelSize: Double?
    /// The axis title's size and its gap to the tick labels, when not the style's.
    public var titleSize: Double?, titlePad: Double?

    public init(low: Double, high: Double, ticks: [Double], labels: [String], title: String? = nil) {
        (self.low, self.high, self.ticks, self.labels, self.title) = (low, high, ticks, labels, title)
    }

    /// Limits [low, high] with round ticks between them.
    public static func linear(
        _ low: Double, _ high: Double, title: String? = nil, integers: Bool = false, target: Int = 5
    ) -> Axis {
        let ticks = ChartScale.ticks(low: low, high: high, target: target, integers: integers)
            .filter { $0 >= low - 1e-9 * abs(high - low) && $0 <= high + 1e-9 * abs(high - low) }
        return Axis(low: low, high: high, ticks: ticks, labels: ChartScale.labels(ticks), title: title)
    }
}

/// A framed plot area mapping data to pixels, with matplotlib's ticks, tick labels, axis titles and title.
public struct Axes: Sendable {
    public var area: PlotRect
    public var x: Axis, y: Axis

    /// Axes filling `outer` less the room its decorations need.
    public init(in outer: PlotRect, x: Axis, y: Axis, title: String?, style: PlotStyle) {
        self.x = x
        self.y = y
        area = outer
        area = outer.inset(left: leftMargin(style), top: topMargin(title, style), right: rightMargin(style),
                           bottom: bottomMargin(style))
    }

    public init(area: PlotRect, x: Axis, y: Axis) {
        (self.area, self.x, self.y) = (area, x, y)
    }

    /// Axes over data ranges with as many ticks as matplotlib's automatic locator puts on axes of this size: one per
    /// three label heights across, one per two up, nine at most.
    public static func automatic(
        in outer: PlotRect, x: (Double, Double, String?), y: (Double, Double, String?), title: String?,
        style: PlotStyle
    ) -> Axes {
        var axes = Axes(in: outer, x: .linear(x.0, x.1, title: x.2), y: .linear(y.0, y.1, title: y.2), title: title,
                        style: style)
        for _ in 0 ..< 2 {  // the ticks' labels change the room they take; once more settles it
            let across = min(9, max(1, Int(axes.area.width / (3 * style.fontSize))))
            let up = min(9, max(1, Int(axes.area.height / (2 * style.fontSize))))
            axes = Axes(in: outer, x: .linear(x.0, x.1, title: x.2, target: across),
                        y: .linear(y.0, y.1, title: y.2, target: up), title: title, style: style)
        }
        return axes
    }

    /// The pixel column of data value `v`.
    public func px(_ v: Double) -> Double { area.x + (v - x.low) / (x.high - x.low) * area.width }
    /// The pixel row of data value `v` (up is larger).
    public func py(_ v: Double) -> Double { area.maxY - (v - y.low) / (y.high - y.low) * area.height }
    public func point(_ vx: Double, _ vy: Double) -> Point { Point(px(vx), py(vy)) }

    /// Ticks, tick labels, axis titles and `title`; the frame (matplotlib's spines) when `spines`.
    public func drawDecorations(on canvas: Canvas, title: String?, style: PlotStyle, spines: Bool = true) throws {
        let tick = Stroke(color: Palette.ink, width: style.spineWidth)
        let xSize = x.labelSize ?? style.fontSize, ySize = y.labelSize ?? style.fontSize
        for (v, label) in zip(y.ticks, y.labels) {
            let row = py(v)
            try canvas.line(from: Point(area.x - style.tickLength, row), to: Point(area.x, row), stroke: tick)
            try canvas.text(label, at: Point(area.x - style.tickLength - style.tickPad, row),
                            style: TextStyle(size: ySize, horizontal: .right, vertical: .middle))
        }
        for (v, label) in zip(x.ticks, x.labels) {
            let column = px(v)
            try canvas.line(from: Point(column, area.maxY), to: Point(column, area.maxY + style.tickLength), stroke: tick)
            let at = Point(column, area.maxY + style.tickLength + style.tickPad)
            try canvas.text(label, at: at, style: x.rotatedLabels
                ? TextStyle(size: xSize, horizontal: .right, vertical: .middle, rotated: true)
                : TextStyle(size: xSize, horizontal: .center, vertical: .top))
        }
        if let name = x.title {
            let top = area.maxY + style.tickLength + style.tickPad + xLabelsHeight(style) + (x.titlePad ?? style.labelPad)
            try canvas.text(name, at: Point(area.midX, top), style: TextStyle(
                size: x.titleSize ?? style.fontSize, horizontal: .center, vertical: .top))
        }
        if let name = y.title {
            let right = area.x - style.tickLength - style.tickPad - yLabelsWidth(style) - (y.titlePad ?? style.labelPad)
            try canvas.text(name, at: Point(right, area.midY), style: TextStyle(
                size: y.titleSize ?? style.fontSize, horizontal: .center, vertical: .bottom, rotated: true))
        }
        if let title {
            try canvas.text(title, at: Point(area.midX, area.y - style.titlePad), style: TextStyle(
                size: style.titleSize, horizontal: .center, vertical: .bottom))
        }
        if spines { try canvas.rectangle(area, fill: nil, stroke: tick) }
    }

    // MARK: Room for the decorations

    private func textHeight(_ size: Double) -> Double {
        let m = TextMetrics.size("Ag", size: size)
        return m.ascent + m.descent
    }

    private func yLabelsWidth(_ style: PlotStyle) -> Double {
        y.labels.map { TextMetrics.size($0, size: y.labelSize ?? style.fontSize).width }.max() ?? 0
    }

    private func xLabelsHeight(_ style: PlotStyle) -> Double {
        let size = x.labelSize ?? style.fontSize
        guard x.rotatedLabels else { return x.labels.isEmpty ? 0 : textHeight(size) }
        return x.labels.map { TextMetrics.size($0, size: size).width }.max() ?? 0
    }

    private func leftMargin(_ style: PlotStyle) -> Double {
        let title = y.title == nil ? 0 : textHeight(y.titleSize ?? style.fontSize) + (y.titlePad ?? style.labelPad)
        return style.tickLength + style.tickPad + yLabelsWidth(style) + title
    }

    private func bottomMargin(_ style: PlotStyle) -> Double {
        let title = x.title == nil ? 0 : textHeight(x.titleSize ?? style.fontSize) + (x.titlePad ?? style.labelPad)
        return style.tickLength + style.tickPad + xLabelsHeight(style) + title
    }

    private func topMargin(_ title: String?, _ style: PlotStyle) -> Double {
        let half = textHeight(y.labelSize ?? style.fontSize) / 2  // the top tick label reaches above the frame
        return max(half, title == nil ? 0 : textHeight(style.titleSize) + style.titlePad)
    }

    private func rightMargin(_ style: PlotStyle) -> Double {
        guard !x.rotatedLabels, let last = x.labels.last else { return 0 }
        return TextMetrics.size(last, size: x.labelSize ?? style.fontSize).width / 2
    }
}
