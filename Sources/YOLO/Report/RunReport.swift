import Foundation
import Torch

/// `report.html`: one self-contained page for a run folder, to open in any browser offline. The charts are the
/// plotting layer's figures as inline SVG; the pictures (labels.jpg, batches, predictions) are embedded as data
/// URIs; no script, no external file, no network.
///
///     let report = try RunReport.gather(folder: run.url, title: "train", results: output.results,
///                                       confusion: output.confusion, table: validator.table(output.results, perClass: true))
///     try report.write(to: run.url.appendingPathComponent("report.html"))
public struct RunReport {
    public struct Chart {
        public var title: String
        public var svg: String
        /// Takes the page's whole width (results.csv's grid of charts) rather than half of it.
        public var wide = false
    }

    public struct Picture {
        public var title: String
        public var jpeg: Data
    }

    public var title: String
    /// Short facts shown at the top (model, data, epochs, the summary metrics).
    public var facts: [(String, String)] = []
    /// The validation table as the command line prints it.
    public var table: [String] = []
    public var charts: [Chart] = []
    public var pictures: [Picture] = []
    /// The run's arguments (args.yaml), shown folded.
    public var arguments: String?

    public init(title: String) { self.title = title }

    /// The pictures a run folder may hold, in the order the report shows them.
    public static let pictureNames = [
        "val_batch0_pred.jpg", "val_batch0_labels.jpg", "val_batch1_pred.jpg", "val_batch1_labels.jpg",
        "labels.jpg", "train_batch0.jpg", "train_batch1.jpg",
    ]

    /// The report of what `folder` holds: the results.csv chart, the validation figures of `results` and
    /// `confusion` (when given), the pictures of `pictureNames` that exist, and args.yaml.
    public static func gather(
        folder: URL, title: String, results: DetectionResults?, confusion: ConfusionMatrix?, table: [String] = []
    ) throws -> RunReport {
        var report = RunReport(title: title)
        report.table = table
        if let results {
            report.facts += [
                ("images", "\(results.imageCount)"), ("instances", "\(results.instancesPerClass.reduce(0, +))"),
                ("precision", format(results.precision)), ("recall", format(results.recall)),
                ("mAP50", format(results.map50)), ("mAP50-95", format(results.map)),
            ]
        }
        let csv = folder.appendingPathComponent("results.csv")
        if FileManager.default.fileExists(atPath: csv.path) {
            let rows = try ResultsCSV(url: csv).read()
            if !rows.rows.isEmpty {
                report.facts.insert(("epochs", "\(rows.rows.count)"), at: 0)
                report.charts.append(Chart(title: "Training", svg: try ResultsPlot.svg(rows), wide: true))
            }
        }
        if let results {
            for (name, figure) in ValidationPlots.figures(results: results, confusion: confusion) {
                report.charts.append(Chart(title: chartTitle(name), svg: try figure.svg()))
            }
        }
        for name in pictureNames {
            let url = folder.appendingPathComponent(name)
            if let data = FileManager.default.contents(atPath: url.path), !data.isEmpty {
                report.pictures.append(Picture(title: name, jpeg: data))
            }
        }
        report.arguments = try? String(contentsOf: folder.appendingPathComponent("args.yaml"), encoding: .utf8)
        return report
    }

    /// The page.
    public func html() -> String {
        var body: [String] = ["<h1>\(escaped(title))</h1>"]
        if !facts.isEmpty {
            let cells = facts.map { "<div class=\"fact\"><span>\(escaped($0.0))</span><b>\(escaped($0.1))</b></div>" }
            body.append("<div class=\"facts\">\(cells.joined())</div>")
        }
        if !table.isEmpty { body.append("<h2>Validation</h2><pre>\(escaped(table.joined(separator: "\n")))</pre>") }
        let chartSections = charts.map { chart in
            "<section\(chart.wide ? " class=\"wide\"" : "")><h2>\(escaped(chart.title))</h2>"
                + "<div class=\"chart\">\(chart.svg)</div></section>"
        }
        let pictureSections = pictures.map { picture in
            "<section><h2>\(escaped(picture.title))</h2><img alt=\"\(escaped(picture.title))\" "
                + "src=\"data:image/jpeg;base64,\(picture.jpeg.base64EncodedString())\"></section>"
        }
        let sections = chartSections + pictureSections
        if !sections.isEmpty { body.append("<div class=\"grid\">\n\(sections.joined(separator: "\n"))\n</div>") }
        if let arguments {
            body.append("<details><summary>Arguments (args.yaml)</summary><pre>\(escaped(arguments))</pre></details>")
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <link rel="icon" href="data:,">
            <title>\(escaped(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            \(body.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    /// Writes the page, whole or not at all.
    public func write(to url: URL) throws { try DurableFile.write(html(), to: url) }

    static let style = """
        body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px; \
        padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
        .facts { display: flex; flex-wrap: wrap; gap: 0.6em; }
        .fact { border: 1px solid #ddd; border-radius: 6px; padding: 0.4em 0.8em; }
        .fact span { color: #666; margin-right: 0.5em; }
        pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 1.5em; }
        .grid .wide { grid-column: 1 / -1; }
        .chart svg, img { max-width: 100%; height: auto; border: 1px solid #eee; }
        """

    /// "BoxPR_curve.png" → "BoxPR curve".
    static func chartTitle(_ fileName: String) -> String {
        (fileName as NSString).deletingPathExtension.replacingOccurrences(of: "_", with: " ")
    }

    static func format(_ value: Double) -> String { String(format: "%.3f", value) }
}

/// `text` safe inside HTML elements and attribute values.
private func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
