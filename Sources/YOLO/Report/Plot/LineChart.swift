import Foundation
import Vision

/// One small chart of results.png in matplotlib's style: a title, a framed plot area with ticks and labels, series
/// as lines with dot markers or as dotted lines.
struct LineChart {
    struct Series {
        var y: [Double]
        var color: Color
        var style: Style
        var label: String
    }

    enum Style { case lineWithMarkers, dotted }

    var title: String
    var x: [Double]
    var series: [Series]

    /// matplotlib's first two colours (tab:blue, tab:orange).
    static let blue = Palette.cycle(0)
    static let orange = Palette.cycle(1)

    /// Draws into `frame` of `canvas`; `style` gives matplotlib's sizes at the figure's resolution.
    func draw(on canvas: Canvas, frame: PlotRect, style: PlotStyle, legend: Bool) throws {
        let (yLow, yHigh) = ChartScale.limits(series.flatMap(\.y))
        let (xLow, xHigh) = ChartScale.limits(x)
        var xAxis = Axis.linear(xLow, xHigh, integers: true), yAxis = Axis.linear(yLow, yHigh)
        xAxis.labelSize = style.fontSize
        yAxis.labelSize = style.fontSize
        let axes = Axes(in: frame, x: xAxis, y: yAxis, title: title, style: style)
        guard axes.area.width > 10, axes.area.height > 10 else { return }

        let lineWidth = 2 * style.pt, markerRadius = 2.3 * style.pt
        for s in series {
            let stroke = self.stroke(s, width: lineWidth)
            for run in runs(of: s.y) {
                let points = run.map { axes.point(x[$0], s.y[$0]) }
                try canvas.polyline(points, stroke: stroke)
                if s.style == .lineWithMarkers {
                    for p in points { try canvas.circle(center: p, radius: markerRadius, fill: s.color) }
                }
            }
        }
        // The title may be wider than a small chart: keep it inside the frame by shrinking it.
        var titleStyle = style
        let titleWidth = TextMetrics.size(title, size: style.titleSize).width
        if titleWidth > frame.width { titleStyle.pt *= frame.width / titleWidth }
        try axes.drawDecorations(on: canvas, title: nil, style: style)
        try canvas.text(title, at: Point(axes.area.midX, axes.area.y - style.titlePad), style: TextStyle(
            size: titleStyle.titleSize, horizontal: .center, vertical: .bottom))

        if legend {
            let box = Legend(
                entries: series.map { s in
                    .init(label: s.label, stroke: stroke(s, width: lineWidth),
                          markerRadius: s.style == .lineWithMarkers ? markerRadius : nil)
                }, fontSize: style.fontSize)
            let inset = 0.5 * style.fontSize
            try box.draw(on: canvas, at: Point(axes.area.maxX - box.width - inset, axes.area.y + inset),
                         frameWidth: style.pt)
        }
    }

    private func stroke(_ s: Series, width: Double) -> Stroke {
        Stroke(color: s.color, width: width, pattern: s.style == .dotted ? .dotted(spacing: 2.65 * width) : .solid)
    }

    /// Index ranges of consecutive finite values (a NaN breaks the line, as in matplotlib).
    private func runs(of y: [Double]) -> [[Int]] {
        var result: [[Int]] = [], current: [Int] = []
        for i in y.indices where i < x.count {
            if y[i].isFinite { current.append(i) } else if !current.isEmpty { result.append(current); current = [] }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}
