import Foundation
import Vision

/// The reference's validation curves, 9 x 6 inches at 250 dpi: precision against recall (`BoxPR_curve.png`) and
/// F1, precision and recall against confidence (`BoxF1_curve.png`, `BoxP_curve.png`, `BoxR_curve.png`). A thin
/// line per class (coloured and in the legend when fewer than 21 classes, grey otherwise) and their mean in bold
/// blue, the legend outside the plot on the right.
public struct CurvePlot: Figure {
    public var title: String
    public var xLabel: String, yLabel: String
    public var x: [Double]
    /// One curve per class with its legend label (nil: a grey line without an entry).
    public var curves: [(label: String?, y: [Double])]
    public var mean: [Double]
    public var meanLabel: String
    public var width = 2250, height = 1500

    /// The PR curve: each class's precision envelope against recall, labelled with its AP at IoU 0.5.
    public static func precisionRecall(_ results: DetectionResults) -> CurvePlot {
        let r = results.perClass
        let labelled = legendShowsClasses(r.classes.count)
        let curves = r.classes.indices.map { i -> (label: String?, y: [Double]) in
            (labelled ? "\(name(r.classes[i], results)) \(String(format: "%.3f", r.ap[i].first ?? 0))" : nil,
             r.curves.precisionAtRecall[i])
        }
        let map50 = r.ap.isEmpty ? 0 : NumPy.mean(r.ap.map { $0.first ?? 0 })
        return CurvePlot(
            title: "Precision-Recall Curve", xLabel: "Recall", yLabel: "Precision", x: r.curves.x, curves: curves,
            mean: columnMean(r.curves.precisionAtRecall, count: r.curves.x.count),
            meanLabel: String(format: "all classes %.3f mAP@0.5", map50))
    }

    public enum Metric: String, CaseIterable, Sendable {
        case f1 = "F1", precision = "Precision", recall = "Recall"

        /// The reference's file name: `BoxF1_curve.png`, `BoxP_curve.png`, `BoxR_curve.png` (`Mask…` for masks).
        public var fileName: String { fileName(kind: "Box") }
        public func fileName(kind: String) -> String { "\(kind)\(self == .f1 ? "F1" : String(rawValue.prefix(1)))_curve.png" }
    }

    /// A metric against confidence; the mean is smoothed as the reference's and labelled with its peak.
    public static func metricConfidence(_ results: DetectionResults, metric: Metric) -> CurvePlot {
        let r = results.perClass
        let rows = switch metric {
        case .f1: r.curves.f1
        case .precision: r.curves.precision
        case .recall: r.curves.recall
        }
        let labelled = legendShowsClasses(r.classes.count)
        let curves = zip(r.classes, rows).map { c, y -> (label: String?, y: [Double]) in
            (labelled ? name(c, results) : nil, y)
        }
        let mean = NumPy.smooth(columnMean(rows, count: r.curves.x.count), fraction: 0.1)
        let best = mean.isEmpty ? 0 : NumPy.argmax(mean)
        let peak = mean.isEmpty ? 0 : mean[best], at = r.curves.x.isEmpty ? 0 : r.curves.x[best]
        return CurvePlot(
            title: "\(metric.rawValue)-Confidence Curve", xLabel: "Confidence", yLabel: metric.rawValue,
            x: r.curves.x, curves: curves, mean: mean, meanLabel: String(format: "all classes %.2f at %.3f", peak, at))
    }

    public func draw(on canvas: Canvas) throws {
        let style = PlotStyle(dpi: 250 * Double(height) / 1500)
        let legend = Legend(
            entries: curves.enumerated().compactMap { i, curve in
                curve.label.map { .init(label: $0, stroke: Stroke(color: Palette.cycle(i), width: style.pt)) }
            } + [.init(label: meanLabel, stroke: Stroke(color: Palette.blue, width: 3 * style.pt))],
            fontSize: style.fontSize)
        // The legend is anchored at 1.04 axes widths, half a font size in: shrink the axes until it fits.
        let pad = style.figurePad, inset = 0.5 * style.fontSize
        var outer = PlotRect(x: 0, y: 0, width: Double(width), height: Double(height))
            .inset(left: pad, top: pad, right: pad + legend.width + inset, bottom: pad)
        func layout() -> Axes {
            Axes.automatic(in: outer, x: (0, 1, xLabel), y: (0, 1, yLabel), title: title, style: style)
        }
        var axes = layout()
        for _ in 0 ..< 2 {
            let overflow = axes.area.maxX + 0.04 * axes.area.width + inset + legend.width - (Double(width) - pad)
            outer.width -= max(overflow, 0)
            axes = layout()
        }

        for (i, curve) in curves.enumerated() {
            let color = curve.label == nil ? Palette.gray : Palette.cycle(i)
            try canvas.polyline(points(curve.y, axes), stroke: Stroke(color: color, width: style.pt))
        }
        try canvas.polyline(points(mean, axes), stroke: Stroke(color: Palette.blue, width: 3 * style.pt))
        try axes.drawDecorations(on: canvas, title: title, style: style)
        try legend.draw(on: canvas, at: Point(axes.area.maxX + 0.04 * axes.area.width + inset, axes.area.y + inset),
                        frameWidth: style.pt)
    }

    /// The curve's points in pixels, less those inside a flat stretch (the line is the same without them).
    private func points(_ y: [Double], _ axes: Axes) -> [Point] {
        let n = min(x.count, y.count)
        return (0 ..< n).filter { i in i == 0 || i == n - 1 || y[i] != y[i - 1] || y[i] != y[i + 1] }
            .map { axes.point(x[$0], y[$0]) }
    }

    private static func legendShowsClasses(_ count: Int) -> Bool { count > 0 && count < 21 }

    private static func name(_ c: Int, _ results: DetectionResults) -> String { results.names[c] ?? "\(c)" }

    private static func columnMean(_ rows: [[Double]], count: Int) -> [Double] {
        guard !rows.isEmpty else { return [Double](repeating: 0, count: count) }
        return (0 ..< count).map { i in rows.reduce(0.0) { $0 + $1[i] } / Double(rows.count) }
    }
}
