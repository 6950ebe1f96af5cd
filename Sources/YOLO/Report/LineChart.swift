import Foundation
import Vision

/// One small chart in the style of matplotlib's defaults: a title, a framed plot area with ticks and labels,
/// series as lines with dot markers or as dotted lines. Drawn with OpenCV through Vision.
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

    /// matplotlib's first two colours (tab:blue, tab:orange), in BGR.
    static let blue = Color(b: 180, g: 119, r: 31)
    static let orange = Color(b: 14, g: 127, r: 255)
    static let ink = Color(gray: 38)

    /// Draws into the `frame` (x, y, width, height) of `image`; `unit` scales strokes and text (1 at 600 px tall).
    func draw(on image: Image, frame: (x: Double, y: Double, width: Double, height: Double), unit: Double,
              legend: Bool) throws
    {
        let textScale = 0.55 * unit, textThickness = max(1, Int((1.1 * unit).rounded()))
        // The title's size, smaller when a long one would not fit its frame.
        var titleScale = 0.62 * unit
        let fullTitle = try Image.textSize(title, scale: titleScale, thickness: textThickness)
        if Double(fullTitle.width) > frame.width - 4 * unit {
            titleScale *= (frame.width - 4 * unit) / Double(fullTitle.width)
        }
        let tickLength = 4 * unit

        let titleSize = try Image.textSize(title, scale: titleScale, thickness: textThickness)
        let titleBaseline = frame.y + Double(titleSize.height) + 4 * unit

        // Plot area: room on the left for y labels, below for x labels.
        let yValues = series.flatMap(\.y)
        let (yLow, yHigh) = ChartScale.limits(yValues)
        let (xLow, xHigh) = ChartScale.limits(x)
        let yTicks = ChartScale.ticks(low: yLow, high: yHigh, target: 5)
        let xTicks = ChartScale.ticks(low: xLow, high: xHigh, target: 5, integers: true)
        let yLabels = ChartScale.labels(yTicks), xLabels = ChartScale.labels(xTicks)
        let labelWidth = try yLabels.map { try Image.textSize($0, scale: textScale, thickness: textThickness).width }
            .max() ?? 0
        let labelHeight = try Image.textSize("0", scale: textScale, thickness: textThickness).height

        let left = frame.x + Double(labelWidth) + tickLength + 10 * unit
        let right = frame.x + frame.width - 8 * unit
        let top = titleBaseline + 10 * unit
        let bottom = frame.y + frame.height - Double(labelHeight) - tickLength - 12 * unit
        guard right - left > 10, bottom - top > 10 else { return }

        // The title, centred above the plot area.
        let centred = (left + right) / 2 - Double(titleSize.width) / 2
        let titleX = min(max(centred, frame.x), frame.x + frame.width - Double(titleSize.width))
        try image.drawText(
            title, x: Int(titleX), y: Int(titleBaseline), scale: titleScale, color: LineChart.ink,
            thickness: textThickness)

        func px(_ v: Double) -> Double { left + (v - xLow) / (xHigh - xLow) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - yLow) / (yHigh - yLow) * (bottom - top) }

        // Ticks and their labels.
        let stroke = max(1, Int(unit.rounded()))
        for (v, label) in zip(yTicks, yLabels) where v >= yLow && v <= yHigh {
            let y = py(v)
            try image.drawLine(from: Point(left - tickLength, y), to: Point(left, y), color: LineChart.ink,
                               thickness: stroke)
            let size = try Image.textSize(label, scale: textScale, thickness: textThickness)
            try image.drawText(label, x: Int(left - tickLength - 4 * unit) - size.width,
                               y: Int(y) + size.height / 2, scale: textScale, color: LineChart.ink,
                               thickness: textThickness)
        }
        for (v, label) in zip(xTicks, xLabels) where v >= xLow && v <= xHigh {
            let x = px(v)
            try image.drawLine(from: Point(x, bottom), to: Point(x, bottom + tickLength), color: LineChart.ink,
                               thickness: stroke)
            let size = try Image.textSize(label, scale: textScale, thickness: textThickness)
            try image.drawText(label, x: Int(x) - size.width / 2, y: Int(bottom + tickLength + 4 * unit) + size.height,
                               scale: textScale, color: LineChart.ink, thickness: textThickness)
        }

        // Series, clipped to the plot area by construction (limits cover every value).
        let lineWidth = max(1, Int((2 * unit).rounded()))
        for s in series {
            let segments = runs(of: s.y).map { run in run.map { Point(px(x[$0]), py(s.y[$0])) } }
            for points in segments {
                switch s.style {
                case .lineWithMarkers:
                    if points.count > 1 {
                        try image.drawPolyline(points, color: s.color, thickness: lineWidth)
                    }
                    for p in points {
                        try image.fillCircle(center: p, radius: 3.2 * unit, color: s.color, antialiased: true)
                    }
                case .dotted:
                    try dots(along: points, spacing: 3.3 * Double(lineWidth), radius: Double(lineWidth) * 0.55,
                             color: s.color, on: image)
                }
            }
        }

        // The frame on top of everything, as matplotlib's spines.
        try image.drawPolyline(
            [Point(left, top), Point(right, top), Point(right, bottom), Point(left, bottom)], closed: true,
            color: LineChart.ink, thickness: stroke)

        if legend { try drawLegend(on: image, right: right, top: top, unit: unit, textScale: textScale,
                                   textThickness: textThickness, lineWidth: lineWidth) }
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

    /// Round dots every `spacing` pixels along a polyline: matplotlib's ":" style.
    private func dots(along points: [Point], spacing: Double, radius: Double, color: Color, on image: Image) throws {
        guard let first = points.first else { return }
        try image.fillCircle(center: first, radius: radius, color: color, antialiased: true)
        var carry = 0.0  // distance walked since the last dot
        for (a, b) in zip(points, points.dropFirst()) {
            let length = hypot(b.x - a.x, b.y - a.y)
            var t = spacing - carry
            while t <= length {
                let p = Point(a.x + (b.x - a.x) * t / length, a.y + (b.y - a.y) * t / length)
                try image.fillCircle(center: p, radius: radius, color: color, antialiased: true)
                t += spacing
            }
            carry = length - (t - spacing)
        }
    }

    private func drawLegend(
        on image: Image, right: Double, top: Double, unit: Double, textScale: Double, textThickness: Int,
        lineWidth: Int
    ) throws {
        let rowHeight = 20 * unit, sample = 26 * unit, pad = 8 * unit
        let widths = try series.map { try Image.textSize($0.label, scale: textScale, thickness: textThickness).width }
        let boxWidth = sample + 3 * pad + Double(widths.max() ?? 0)
        let boxHeight = Double(series.count) * rowHeight + pad
        let x0 = right - boxWidth - 6 * unit, y0 = top + 6 * unit
        try image.fillRectangle(x1: Int(x0), y1: Int(y0), x2: Int(x0 + boxWidth), y2: Int(y0 + boxHeight),
                                color: .white)
        try image.drawRectangle(x1: Int(x0), y1: Int(y0), x2: Int(x0 + boxWidth), y2: Int(y0 + boxHeight),
                                color: Color(gray: 204), thickness: max(1, Int(unit.rounded())))
        for (i, s) in series.enumerated() {
            let y = y0 + pad / 2 + (Double(i) + 0.5) * rowHeight
            let a = Point(x0 + pad, y), b = Point(x0 + pad + sample, y)
            switch s.style {
            case .lineWithMarkers:
                try image.drawLine(from: a, to: b, color: s.color, thickness: lineWidth)
                try image.fillCircle(center: Point((a.x + b.x) / 2, y), radius: 3.2 * unit, color: s.color,
                                     antialiased: true)
            case .dotted:
                try dots(along: [a, b], spacing: 3.3 * Double(lineWidth), radius: Double(lineWidth) * 0.55,
                         color: s.color, on: image)
            }
            let size = try Image.textSize(s.label, scale: textScale, thickness: textThickness)
            try image.drawText(s.label, x: Int(b.x + pad), y: Int(y) + size.height / 2, scale: textScale,
                               color: LineChart.ink, thickness: textThickness)
        }
    }
}
