import Foundation
import Vision

/// The reference's confusion matrix plots, 12 x 9 inches at 250 dpi: `confusion_matrix.png` (counts) and
/// `confusion_matrix_normalized.png` (each true class's column divided by its total). A heat map in matplotlib's
/// "Blues", predicted classes down and true classes across with a last background row and column, each cell's value
/// written in it when there are fewer than 30 rows, and a colour bar on the right.
public struct ConfusionMatrixPlot: Figure {
    public var matrix: ConfusionMatrix
    public var normalize: Bool
    public var width = 3000, height = 2250

    public init(_ matrix: ConfusionMatrix, normalize: Bool) {
        self.matrix = matrix
        self.normalize = normalize
    }

    public var title: String { "Confusion Matrix" + (normalize ? " Normalized" : "") }
    /// `confusion_matrix.png` or `confusion_matrix_normalized.png`.
    public var fileName: String { title.lowercased().replacingOccurrences(of: " ", with: "_") + ".png" }

    /// The cells shown (nil where below 0.005, which the reference leaves blank) and the class names across them.
    var cells: (values: [[Double?]], names: [String]) {
        let full = normalize ? matrix.normalized : matrix.matrix
        var names = (0 ..< matrix.classCount).map { matrix.names[$0] ?? "\($0)" }
        var keep = Array(full.indices)
        if matrix.classCount >= 100 {  // every k-th class, and background
            let k = max(2, matrix.classCount / 60)
            keep = Array(stride(from: 0, to: matrix.classCount, by: k)) + [matrix.classCount]
            names = stride(from: 0, to: names.count, by: k).map { names[$0] }
        }
        let values = keep.map { r in keep.map { c -> Double? in full[r][c] < 0.005 ? nil : full[r][c] } }
        return (values, names + ["background"])
    }

    public func draw(on canvas: Canvas) throws {
        let style = PlotStyle(dpi: 250 * Double(height) / 2250)
        let (values, names) = cells
        let n = values.count
        guard n > 0 else { return }
        let (W, H) = (Double(width), Double(height))
        let tickSize = max(6, 15 - 0.1 * Double(n)) * style.pt, labelSize = max(6, 12 - 0.1 * Double(n)) * style.pt
        let bottom = max(0.1, 0.25 - 0.001 * Double(n))
        // subplots_adjust(left=0, right=0.84, top=0.94, bottom): the colour bar takes 4.6% of that width after a
        // 5% gap; the square matrix keeps to the right of what is left, the bar is 1/20 as wide as it is tall.
        let box = PlotRect(x: 0, y: 0.06 * H, width: 0.84 * W, height: (0.94 - bottom) * H)
        let parentWidth = box.width * (1 - 0.046 - 0.05)
        let side = min(parentWidth, box.height)
        let square = PlotRect(x: parentWidth - side, y: box.midY - side / 2, width: side, height: side)
        let bar = PlotRect(x: parentWidth + 0.05 * box.width, y: box.y, width: box.height / 20, height: box.height)

        let vmax = values.joined().compactMap { $0 }.max() ?? 0
        let scale = vmax > 0 ? vmax : 1
        let cell = side / Double(n)
        for (r, row) in values.enumerated() {
            for (c, value) in row.enumerated() {
                guard let value else { continue }
                try canvas.rectangle(PlotRect(x: square.x + Double(c) * cell, y: square.y + Double(r) * cell,
                                              width: cell, height: cell),
                                     fill: Colormap.blues(value / scale), stroke: nil)
            }
        }
        if n < 30 {
            let threshold = 0.45 * (normalize ? 1 : vmax)
            for (r, row) in values.enumerated() {
                for (c, value) in row.enumerated() {
                    guard let value else { continue }
                    try canvas.text(
                        normalize ? String(format: "%.2f", value) : "\(Int(value))",
                        at: Point(square.x + (Double(c) + 0.5) * cell, square.y + (Double(r) + 0.5) * cell),
                        style: TextStyle(size: style.fontSize, color: value > threshold ? .white : Palette.ink,
                                         horizontal: .center, vertical: .middle))
                }
            }
        }

        // Ticks at every cell with the class names (numbers when 99 or more), no frame.
        let named = n < 99
        let positions = named ? Array(0 ..< n) : ChartScale.ticks(low: 0, high: Double(n - 1), integers: true).map { Int($0) }
        let labels = named ? names : positions.map(String.init)
        var xAxis = Axis(low: -0.5, high: Double(n) - 0.5, ticks: positions.map(Double.init), labels: labels,
                         title: "True")
        xAxis.rotatedLabels = named
        var yAxis = Axis(low: Double(n) - 0.5, high: -0.5, ticks: xAxis.ticks, labels: labels, title: "Predicted")
        for i in 0 ..< 2 {
            var axis = i == 0 ? xAxis : yAxis
            (axis.labelSize, axis.titleSize, axis.titlePad) = (tickSize, labelSize, 10 * style.pt)
            if i == 0 { xAxis = axis } else { yAxis = axis }
        }
        try Axes(area: square, x: xAxis, y: yAxis).drawDecorations(on: canvas, title: nil, style: style, spines: false)
        try canvas.text(title, at: Point(square.midX, box.y - 20 * style.pt), style: TextStyle(
            size: labelSize, horizontal: .center, vertical: .bottom))
        try drawColorBar(bar, vmax: vmax, style: style, on: canvas)
    }

    /// The colour bar: the map from 0 (bottom) to `vmax` (top), ticks and labels on its right.
    private func drawColorBar(_ bar: PlotRect, vmax: Double, style: PlotStyle, on canvas: Canvas) throws {
        let bands = 128
        for i in 0 ..< bands {
            let band = bar.height / Double(bands)
            try canvas.rectangle(PlotRect(x: bar.x, y: bar.maxY - Double(i + 1) * band, width: bar.width,
                                          height: band + 0.5),
                                 fill: Colormap.blues((Double(i) + 0.5) / Double(bands)), stroke: nil)
        }
        guard vmax > 0 else { return }
        let axis = Axis.linear(0, vmax)
        let tick = Stroke(color: Palette.ink, width: style.spineWidth)
        for (v, label) in zip(axis.ticks, axis.labels) {
            let y = bar.maxY - v / vmax * bar.height
            try canvas.line(from: Point(bar.maxX, y), to: Point(bar.maxX + style.tickLength, y), stroke: tick)
            try canvas.text(label, at: Point(bar.maxX + style.tickLength + style.tickPad, y),
                            style: TextStyle(size: style.fontSize, vertical: .middle))
        }
    }
}
