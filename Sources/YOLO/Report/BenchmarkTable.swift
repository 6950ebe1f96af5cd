import Foundation

/// One row of the reference's benchmark table.
public struct BenchmarkRow: Sendable {
    /// The reference's marks: ✅ measured, ❎ exported but not measured, ❌ export failed.
    public enum Status: String, Sendable {
        case success = "✅", exportedOnly = "❎", failed = "❌"
    }

    public var format: String
    public var status: Status
    public var sizeMB: Double
    /// mAP50-95 on the benchmark's dataset; nil when not measured.
    public var metric: Double?
    public var inferenceMilliseconds: Double?
    /// Why the row is not ✅ (a failure, or what this build cannot run).
    public var note: String?

    public var fps: Double? { inferenceMilliseconds.map { BenchmarkRow.rounded(1000 / ($0 + 1e-3), 2) } }

    static func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded(.toNearestOrEven) / scale
    }
}

/// The reference's benchmark report: the closing line, the legend and the table as polars prints it
/// (`ASCII_BORDERS_ONLY_CONDENSED`, "-" for what was not measured), then a note per row that is not ✅.
public struct BenchmarkReport: Sendable {
    public static let metricKey = "metrics/mAP50-95(B)"
    /// The reference's columns, the metric of the task's own kind: boxes (B), masks (M) or pose (P).
    public static func columns(metricKey: String = metricKey) -> [String] {
        [" ", "Format", "Status❔", "Size (MB)", metricKey, "Inference time (ms/im)", "FPS"]
    }

    public var modelName: String, data: String, imgsz: Int, seconds: Double
    public var rows: [BenchmarkRow]
    public var metricKey = BenchmarkReport.metricKey

    public var table: String {
        func text(_ value: Double?, _ digits: Int) -> String {
            value.map { BenchmarkRow.rounded($0, digits).description } ?? "-"
        }
        let cells = rows.enumerated().map { i, row in
            ["\(i + 1)", row.format, row.status.rawValue, text(row.sizeMB, 1), text(row.metric, 4),
             text(row.inferenceMilliseconds, 2), text(row.fps, 2)]
        }
        let columns = BenchmarkReport.columns(metricKey: metricKey)
        let widths = columns.indices.map { c in
            ([columns[c]] + cells.map { $0[c] }).map(BenchmarkReport.displayWidth).max() ?? 0
        }
        func line(_ values: [String]) -> String {
            "| " + zip(values, widths).map { value, width in
                value + String(repeating: " ", count: width - BenchmarkReport.displayWidth(value))
            }.joined(separator: "   ") + " |"
        }
        let inner = widths.reduce(0, +) + 3 * (widths.count - 1) + 2
        let border = "+" + String(repeating: "-", count: inner) + "+"
        return ([border, line(columns), "+" + String(repeating: "=", count: inner) + "+"]
            + cells.map(line) + [border]).joined(separator: "\n")
    }

    /// What the reference logs (and appends to `benchmarks.log`), with this build's notes after the table.
    public var text: String {
        let legend = "Benchmarks legend:  - ✅ Success  - ❎ Export passed but validation failed or not run  - ❌️ Export failed"
        let notes = rows.enumerated().compactMap { i, row in row.note.map { "\(i + 1) \(row.format): \($0)" } }
        return "\nBenchmarks complete for \(modelName) on \(data) at imgsz=\(imgsz) (\(String(format: "%.2f", seconds))s)\n"
            + "\(legend)\n\(table)\n" + notes.map { $0 + "\n" }.joined()
    }

    /// Terminal columns: emoji presentation characters take two, as polars counts them.
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { $0 + (($1.unicodeScalars.first?.properties.isEmojiPresentation ?? false) ? 2 : 1) }
    }
}
