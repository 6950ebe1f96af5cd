import Foundation
import Vision

/// `results.png`: the reference's grid of small charts of `results.csv`, one per loss and metric column against
/// the epoch, each with its values (line and dots) and the reference's smoothed curve (dotted).
///
///     try ResultsPlot.write(csv: run.resultsCSV)          // writes results.png beside it
public enum ResultsPlot {
    /// The reference's figure is 12 x 6 inches at 200 dpi.
    public static let defaultSize = (width: 2400, height: 1200)

    /// Reads `csv` and writes the plot to `output` (default: `results.png` in the same folder). Returns the path.
    @discardableResult
    public static func write(
        csv: URL, to output: URL? = nil, width: Int = defaultSize.width, height: Int = defaultSize.height
    ) throws -> URL {
        let table = try ResultsCSV(url: csv).read()
        let url = output ?? csv.deletingLastPathComponent().appendingPathComponent("results.png")
        try Chart(table: table, width: width, height: height).write(to: url)
        return url
    }

    /// The columns in the reference's order: the first half of the losses, the first half of the metrics, then
    /// the rest of each (for detection: train losses and P, R on top; val losses, mAP50, mAP50-95 below).
    public static func columns(of table: ResultsCSV.Table) -> [String] {
        let losses = table.columns.filter { $0.contains("loss") }
        let metrics = table.columns.filter { !$0.contains("loss") && $0.contains("metric") }
        let lossMid = losses.count / 2, metricMid = (metrics.count + 1) / 2
        return Array(losses[..<lossMid]) + metrics[..<metricMid] + losses[lossMid...] + metrics[metricMid...]
    }

    /// The plot as an image: 2 rows of charts, white background.
    public static func render(_ table: ResultsCSV.Table, width: Int, height: Int) throws -> Image {
        try Chart(table: table, width: width, height: height).image()
    }

    /// The plot as an SVG document, for reports.
    public static func svg(_ table: ResultsCSV.Table, width: Int = defaultSize.width, height: Int = defaultSize.height)
        throws -> String
    {
        try Chart(table: table, width: width, height: height).svg()
    }

    struct Chart: Figure {
        let table: ResultsCSV.Table
        let width: Int, height: Int

        func draw(on canvas: Canvas) throws {
            let names = columns(of: table)
            guard !names.isEmpty, let epochs = table.column(table.columns.first ?? "epoch") else { return }
            let perRow = (names.count + 1) / 2
            // The reference's figure is 200 dpi at 2400 x 1200; other sizes scale with the height.
            let style = PlotStyle(pixelsPerPoint: Double(height) / 1200 * 200 / 72)
            let pad = 0.6 * style.fontSize
            let cellWidth = Double(width) / Double(perRow), cellHeight = Double(height) / 2
            for (i, name) in names.enumerated() {
                let y = table.column(name) ?? []
                let chart = LineChart(
                    title: name, x: epochs,
                    series: [
                        .init(y: y, color: LineChart.blue, style: .lineWithMarkers, label: "results"),
                        .init(y: ChartScale.smooth(y), color: LineChart.orange, style: .dotted, label: "smooth"),
                    ])
                let frame = PlotRect(x: Double(i % perRow) * cellWidth + pad, y: Double(i / perRow) * cellHeight + pad,
                                     width: cellWidth - 2 * pad, height: cellHeight - 2 * pad)
                // The reference puts the legend on its second chart.
                try chart.draw(on: canvas, frame: frame, style: style, legend: i == 1)
            }
        }
    }
}
