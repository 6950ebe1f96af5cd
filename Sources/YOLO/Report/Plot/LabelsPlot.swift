import Foundation
import Vision

/// The reference's `labels.jpg`, written when training starts, 8 x 8 inches at 200 dpi: instances per class (bars
/// in the class colours), every box drawn centred to compare their sizes, and 2-D histograms of box centres (x, y)
/// and sizes (width, height), white to blue.
///
///     try LabelsPlot(labels: trainDataset.labels, names: names).write(to: run.url.appendingPathComponent("labels.jpg"))
public struct LabelsPlot: Figure {
    public var classes: [Int]
    /// Normalized centre x, centre y, width, height, one per object.
    public var boxes: [SIMD4<Float>]
    public var names: [Int: String]
    public var width = 1600, height = 1600

    public init(classes: [Int], boxes: [SIMD4<Float>], names: [Int: String]) {
        // The reference keeps the first million boxes.
        let n = min(classes.count, boxes.count, 1_000_000)
        self.classes = Array(classes.prefix(n))
        self.boxes = Array(boxes.prefix(n))
        self.names = names
    }

    /// The objects of every image of a dataset.
    public init(labels: [ImageLabel], names: [Int: String]) {
        self.init(classes: labels.flatMap(\.classes), boxes: labels.flatMap(\.boxes), names: names)
    }

    public func draw(on canvas: Canvas) throws {
        let style = PlotStyle(dpi: 200 * Double(height) / 1600)
        let pad = style.figurePad
        let cellWidth = Double(width) / 2, cellHeight = Double(height) / 2
        func cell(_ i: Int) -> PlotRect {
            PlotRect(x: Double(i % 2) * cellWidth, y: Double(i / 2) * cellHeight, width: cellWidth, height: cellHeight)
                .inset(left: pad / 2 + (i % 2 == 0 ? pad / 2 : 0), top: pad / 2 + (i < 2 ? pad / 2 : 0),
                       right: pad / 2 + (i % 2 == 1 ? pad / 2 : 0), bottom: pad / 2 + (i >= 2 ? pad / 2 : 0))
        }
        try drawHistogram(in: cell(0), style: style, on: canvas)
        try drawBoxes(in: cell(1), style: style, on: canvas)
        try drawHistogram2D(boxes.map { (Double($0.x), Double($0.y)) }, names: ("x", "y"), in: cell(2), style: style,
                            on: canvas)
        try drawHistogram2D(boxes.map { (Double($0.z), Double($0.w)) }, names: ("width", "height"), in: cell(3),
                            style: style, on: canvas)
    }

    /// Instances per class, bars 0.8 wide; named ticks and counts on the bars when under 30 classes.
    private func drawHistogram(in frame: PlotRect, style: PlotStyle, on canvas: Canvas) throws {
        let nc = (classes.max() ?? -1) + 1
        guard nc > 0 else { return }
        var counts = [Int](repeating: 0, count: nc)
        for c in classes where c >= 0 { counts[c] += 1 }
        let span = Double(nc)  // the bins run from -0.5 to nc - 0.5, with matplotlib's 5% margins
        let top = Double(counts.max() ?? 1) * 1.05
        var axes = Axes.automatic(in: frame, x: (-0.5 - 0.05 * span, span - 0.5 + 0.05 * span, "classes"),
                                  y: (0, top, "instances"), title: nil, style: style)
        let named = !names.isEmpty && names.count < 30
        if named {  // every class named under its bar, turned
            var xAxis = axes.x
            xAxis.ticks = (0 ..< names.count).map(Double.init)
            xAxis.labels = (0 ..< names.count).map { names[$0] ?? "\($0)" }
            xAxis.rotatedLabels = true
            xAxis.title = nil
            axes = Axes(in: frame, x: xAxis, y: axes.y, title: nil, style: style)
        }
        for (c, count) in counts.enumerated() {
            let left = axes.px(Double(c) - 0.4), right = axes.px(Double(c) + 0.4)
            if count > 0 {
                try canvas.rectangle(PlotRect(x: left, y: axes.py(Double(count)), width: right - left,
                                              height: axes.py(0) - axes.py(Double(count))),
                                     fill: BatchPlot.color(forClass: c), stroke: nil)
            }
            if named {  // matplotlib's bar_label: every bar, empty ones too
                try canvas.text("\(count)", at: Point((left + right) / 2, axes.py(Double(count)) - style.tickPad),
                                style: TextStyle(size: style.fontSize, horizontal: .center, vertical: .bottom))
            }
        }
        try axes.drawDecorations(on: canvas, title: nil, style: style, spines: false)
    }

    /// The first 500 boxes centred on a white square, outlined in their class colours; no axes.
    private func drawBoxes(in frame: PlotRect, style: PlotStyle, on canvas: Canvas) throws {
        let side = min(frame.width, frame.height)
        let square = PlotRect(x: frame.midX - side / 2, y: frame.midY - side / 2, width: side, height: side)
        for (c, box) in zip(classes, boxes).prefix(500) {
            let w = Double(box.z) * side, h = Double(box.w) * side
            try canvas.rectangle(PlotRect(x: square.midX - w / 2, y: square.midY - h / 2, width: w, height: h),
                                 fill: nil, stroke: Stroke(color: BatchPlot.color(forClass: c), width: side / 1000))
        }
    }

    /// A 50 x 50 histogram over the values' range, each bin white to blue by its count.
    private func drawHistogram2D(
        _ points: [(Double, Double)], names: (String, String), in frame: PlotRect, style: PlotStyle, on canvas: Canvas
    ) throws {
        guard !points.isEmpty else { return }
        func range(_ v: [Double]) -> (Double, Double) {
            let (low, high) = (v.min()!, v.max()!)
            return low == high ? (low - 0.5, high + 0.5) : (low, high)  // numpy's range for a single value
        }
        let (xLow, xHigh) = range(points.map(\.0)), (yLow, yHigh) = range(points.map(\.1))
        let bins = 50
        var counts = [[Int]](repeating: [Int](repeating: 0, count: bins), count: bins)
        for (x, y) in points {
            let i = min(Int((x - xLow) / (xHigh - xLow) * Double(bins)), bins - 1)
            let j = min(Int((y - yLow) / (yHigh - yLow) * Double(bins)), bins - 1)
            counts[j][i] += 1
        }
        let most = Double(counts.joined().max() ?? 1)
        let axes = Axes.automatic(in: frame, x: (xLow, xHigh, names.0), y: (yLow, yHigh, names.1), title: nil,
                                  style: style)
        let binWidth = (xHigh - xLow) / Double(bins), binHeight = (yHigh - yLow) / Double(bins)
        for j in 0 ..< bins {
            for i in 0 ..< bins where counts[j][i] > 0 {
                let x0 = axes.px(xLow + Double(i) * binWidth), x1 = axes.px(xLow + Double(i + 1) * binWidth)
                let y0 = axes.py(yLow + Double(j + 1) * binHeight), y1 = axes.py(yLow + Double(j) * binHeight)
                try canvas.rectangle(PlotRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0),
                                     fill: Colormap.whiteBlue(Double(counts[j][i]) / most), stroke: nil)
            }
        }
        try axes.drawDecorations(on: canvas, title: nil, style: style, spines: false)
    }
}
