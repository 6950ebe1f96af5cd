import Foundation
import Torch

/// `results.csv`, one row per epoch, in the reference's format: the header `epoch,time,<metric keys>`, then
/// numbers as `%.6g` (`1,2.89819,2.94526,...,3.9865e-05`). Every append rewrites the whole file through a
/// temporary name, so an interrupted run never leaves a torn last line.
///
///     let csv = ResultsCSV(directory: run.url)
///     try csv.append(epoch: epoch + 1, time: seconds, metrics: zip(ResultsCSV.detectionColumns, values).map { $0 })
///     try csv.keepRows(throughEpoch: resumedEpoch)   // on resume: drop rows of epochs not in the checkpoint
public struct ResultsCSV: Sendable {
    /// The reference's detection columns after `epoch` and `time`, in order.
    public static let detectionColumns = columns(lossNames: ["box_loss", "cls_loss", "dfl_loss"], metricKinds: ["B"])

    /// A task's columns: train losses, P/R/mAP50/mAP50-95 of each kind (B boxes, M masks, P pose), val losses,
    /// learning rates.
    public static func columns(lossNames: [String], metricKinds: [String]) -> [String] {
        lossNames.map { "train/\($0)" } + metricKinds.flatMap { DetectionResults.keys(suffix: $0) }
            + lossNames.map { "val/\($0)" } + ["lr/pg0", "lr/pg1", "lr/pg2"]
    }

    public static let detectionHeader = ["epoch", "time"] + detectionColumns

    /// The rows of a results file: `columns` is the whole header (starting `epoch`, `time`).
    public struct Table: Equatable, Sendable {
        public var columns: [String]
        public var rows: [[Double]]

        public init(columns: [String], rows: [[Double]]) {
            self.columns = columns
            self.rows = rows
        }

        /// One column's values, by name.
        public func column(_ name: String) -> [Double]? {
            columns.firstIndex(of: name).map { i in rows.map { $0[i] } }
        }
    }

    public let url: URL

    public init(url: URL) { self.url = url }

    /// `results.csv` in a run folder.
    public init(directory: URL) { url = directory.appendingPathComponent("results.csv") }

    /// Adds the row of one finished epoch (1-based, as the reference counts in this file); `time` is the seconds
    /// since training started. The first row writes the header from the metric names; later rows must use the
    /// same names in the same order.
    public func append(epoch: Int, time: Double, metrics: [(String, Double)]) throws {
        let header = ["epoch", "time"] + metrics.map(\.0)
        var text: String
        if FileManager.default.fileExists(atPath: url.path) {
            text = try String(contentsOf: url, encoding: .utf8)
            let existing = text.split(separator: "\n", maxSplits: 1).first.map(ResultsCSV.fields) ?? []
            guard existing.isEmpty || existing == header else {
                throw ReportError("\(url.path): header \(existing.joined(separator: ",")) differs from this run's "
                    + header.joined(separator: ","))
            }
            if existing.isEmpty { text = ResultsCSV.line(header) }
            if !text.hasSuffix("\n") { text += "\n" }
        } else {
            text = ResultsCSV.line(header)
        }
        let values = [Double(epoch), time] + metrics.map(\.1)
        text += ResultsCSV.line(values.map(ResultsCSV.format))
        try DurableFile.write(text, to: url)
    }

    /// The header and rows. A row that does not parse (a hand-edited file) throws, naming its line.
    public func read() throws -> Table {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ReportError("cannot read \(url.path): \(error.localizedDescription)")
        }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        guard let first = lines.first else { return Table(columns: [], rows: []) }
        let columns = ResultsCSV.fields(first)
        var rows: [[Double]] = []
        for (number, line) in lines.dropFirst().enumerated() {
            let fields = ResultsCSV.fields(line)
            let values = fields.map(ResultsCSV.parse)
            guard fields.count == columns.count, values.allSatisfy({ $0 != nil }) else {
                throw ReportError("\(url.path):\(number + 2): expected \(columns.count) numbers, got '\(line)'")
            }
            rows.append(values.map { $0! })
        }
        return Table(columns: columns, rows: rows)
    }

    /// Keeps the rows of epochs up to `epoch` (1-based) and drops later ones: a resumed run rewrites the epochs
    /// its checkpoint did not record. No file: nothing to do.
    public func keepRows(throughEpoch epoch: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let table = try read()
        guard !table.columns.isEmpty else { return }
        let kept = table.rows.filter { $0[0] <= Double(epoch) }
        guard kept.count != table.rows.count else { return }
        try DurableFile.write(
            ([ResultsCSV.line(table.columns)] + kept.map { ResultsCSV.line($0.map(ResultsCSV.format)) }).joined(),
            to: url)
    }

    /// A number as the reference writes it: `%.6g` (`0`, `2.89819`, `3.9865e-05`, `nan`, `inf`).
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.6g", value)
    }

    private static func line(_ fields: [String]) -> String { fields.joined(separator: ",") + "\n" }

    /// Fields of a line, spaces trimmed (older reference versions padded their columns).
    private static func fields(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    private static func parse(_ field: String) -> Double? {
        switch field.lowercased() {
        case "nan": .nan
        case "inf": .infinity
        case "-inf": -.infinity
        default: Double(field)
        }
    }
}
