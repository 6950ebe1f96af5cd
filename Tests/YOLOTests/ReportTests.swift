import Foundation
import Vision
import XCTest

@testable import YOLO

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
    var now = 0.0
}

/// Everything a progress bar wrote.
private final class Capture: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []

    var text: String { lock.withLock { parts.joined() } }
    func append(_ s: String) { lock.withLock { parts.append(s) } }
}

/// The reporting pieces against the reference's formats: progress lines, results.csv, run folders, args.yaml,
/// the console table, and results.png.
final class ReportTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: - Progress bar

    func testProgressFormats() {
        XCTAssertEqual(ProgressBar.formatRate(9 / 2.8), "3.2it/s")
        XCTAssertEqual(ProgressBar.formatRate(1 / 2.1), "2.1s/it")
        XCTAssertEqual(ProgressBar.formatRate(2100), "2.1Kit/s")
        XCTAssertEqual(ProgressBar.formatRate(3.4e6, unit: "img"), "3.4Mimg/s")
        XCTAssertEqual(ProgressBar.formatRate(0), "")
        XCTAssertEqual(ProgressBar.formatTime(2.84), "2.8s")
        XCTAssertEqual(ProgressBar.formatTime(59.96), "1:00")
        XCTAssertEqual(ProgressBar.formatTime(125), "2:05")
        XCTAssertEqual(ProgressBar.formatTime(3725), "1:02:05")
        XCTAssertEqual(ProgressBar.bar(fraction: 0), "────────────")
        XCTAssertEqual(ProgressBar.bar(fraction: 0.45), "━━━━━───────")
        XCTAssertEqual(ProgressBar.bar(fraction: 0.55), "━━━━━━╸─────")
        XCTAssertEqual(ProgressBar.bar(fraction: 1), "━━━━━━━━━━━━")
    }

    func testTerminalBarRedrawsInPlaceWithRateAndETA() {
        let clock = ManualClock(), out = Capture()
        let bar = ProgressBar(
            total: 20, description: "train", output: ProgressOutput(isTerminal: true, write: out.append),
            clock: { clock.now })
        XCTAssertEqual(out.text, "\r\u{1B}[Ktrain: 0% ──────────── 0/20  0.0s")

        clock.now = 2.8
        bar.update(9)
        XCTAssert(out.text.hasSuffix("\r\u{1B}[Ktrain: 45% ━━━━━─────── 9/20 3.2it/s 2.8s<3.4s"), out.text)

        let before = out.text
        clock.now = 2.85
        bar.update(0)
        XCTAssertEqual(out.text, before, "redrawn sooner than minInterval")

        // The rate is smoothed: 0.3 x (2 items / 2.2 s) + 0.7 x the previous 3.21 it/s.
        clock.now = 5
        bar.update(2)
        XCTAssert(out.text.hasSuffix("train: 55% ━━━━━━╸───── 11/20 2.5it/s 5.0s<3.6s"), out.text)

        clock.now = 9
        bar.update(9)
        bar.close()
        // At completion the rate is the overall one, without an ETA; the line is ended once.
        XCTAssert(out.text.hasSuffix("\r\u{1B}[Ktrain: 100% ━━━━━━━━━━━━ 20/20 2.2it/s 9.0s\n"), out.text)
        XCTAssertEqual(out.text.filter { $0 == "\n" }.count, 1)
    }

    func testLogOutputPrintsWholeLinesAtMostEveryIntervalAndAFinalOne() {
        let clock = ManualClock(), out = Capture()
        let bar = ProgressBar(
            total: 20, description: "val", output: ProgressOutput(isTerminal: false, write: out.append),
            logInterval: 30, clock: { clock.now })
        for t in 1 ... 9 {
            clock.now = Double(t)
            bar.update()
        }
        XCTAssertEqual(out.text, "", "a log line before logInterval")
        clock.now = 31
        bar.update()
        XCTAssertEqual(out.text, "val: 50% ━━━━━━────── 10/20 3.1s/it 31.0s<31.0s\n")
        clock.now = 40
        bar.update(10)
        bar.close()
        bar.close()
        XCTAssertEqual(out.text, "val: 50% ━━━━━━────── 10/20 3.1s/it 31.0s<31.0s\n"
            + "val: 100% ━━━━━━━━━━━━ 20/20 2.0s/it 40.0s\n")
        XCTAssertFalse(out.text.contains("\r"))
    }

    func testTerminalLineIsFittedToItsWidthAndWriteKeepsTheBar() {
        let out = Capture()
        let bar = ProgressBar(
            total: 4, description: String(repeating: "d", count: 100),
            output: ProgressOutput(isTerminal: true, columns: { 40 }, write: out.append), clock: { 0 })
        let frame = out.text.replacingOccurrences(of: "\r\u{1B}[K", with: "")
        XCTAssertEqual(frame.count, 39)
        XCTAssert(frame.hasSuffix("…: 0% ──────────── 0/4  0.0s"), frame)
        bar.write("a message")
        XCTAssert(out.text.contains("\r\u{1B}[Ka message\n\r\u{1B}[K"), out.text)
    }

    func testUnknownTotalShowsCountAndRate() {
        let clock = ManualClock(), out = Capture()
        let bar = ProgressBar(
            total: nil, description: "scan", output: ProgressOutput(isTerminal: false, write: out.append),
            clock: { clock.now })
        clock.now = 2
        bar.update(5)
        bar.close()
        XCTAssertEqual(out.text, "scan: ──────────── 5 2.5it/s 2.0s\n")
    }

    // MARK: - results.csv

    private static let referenceHeader =
        "epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),metrics/recall(B),"
        + "metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,val/dfl_loss,lr/pg0,lr/pg1,lr/pg2"

    func testResultsHeaderIsTheReferencesAndRowsRoundTrip() throws {
        XCTAssertEqual(ResultsCSV.detectionHeader.joined(separator: ","), Self.referenceHeader)
        let sample = try String(contentsOfFile: Fixtures.shared("reference/sample-run/results.csv"), encoding: .utf8)
        XCTAssertEqual(sample.split(separator: "\n").first.map(String.init), Self.referenceHeader)

        // Writing the sample's numbers again gives the sample's bytes.
        let samplePath = try Fixtures.shared("reference/sample-run/results.csv")
        let table = try ResultsCSV(url: URL(fileURLWithPath: samplePath)).read()
        XCTAssertEqual(table.columns, ResultsCSV.detectionHeader)
        XCTAssertEqual(table.rows.count, 3)
        let csv = ResultsCSV(directory: folder)
        for row in table.rows {
            try csv.append(epoch: Int(row[0]), time: row[1],
                           metrics: Array(zip(ResultsCSV.detectionColumns, row.dropFirst(2))))
        }
        XCTAssertEqual(try String(contentsOf: csv.url, encoding: .utf8), sample)
        XCTAssertEqual(try csv.read(), table)
        XCTAssertEqual(table.column("lr/pg0"), [0, 3.9865e-05, 4.046e-05])
        // Every write went through a temporary file that is gone now.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["results.csv"])
    }

    func testResultsNumberFormatAndResumeTruncation() throws {
        XCTAssertEqual(ResultsCSV.format(0), "0")
        XCTAssertEqual(ResultsCSV.format(2.898193359), "2.89819")
        XCTAssertEqual(ResultsCSV.format(3.98650e-05), "3.9865e-05")
        XCTAssertEqual(ResultsCSV.format(1234567), "1.23457e+06")
        XCTAssertEqual(ResultsCSV.format(.nan), "nan")

        let csv = ResultsCSV(directory: folder)
        for epoch in 1 ... 4 {
            try csv.append(epoch: epoch, time: Double(epoch) * 1.5, metrics: [("train/box_loss", 1 / Double(epoch))])
        }
        try csv.keepRows(throughEpoch: 2)
        XCTAssertEqual(try String(contentsOf: csv.url, encoding: .utf8),
                       "epoch,time,train/box_loss\n1,1.5,1\n2,3,0.5\n")
        try csv.append(epoch: 3, time: 4.5, metrics: [("train/box_loss", 0.25)])
        XCTAssertEqual(try csv.read().rows.map { $0[0] }, [1, 2, 3])
        XCTAssertThrowsError(try csv.append(epoch: 4, time: 6, metrics: [("other", 1)]), "a header change")
        try ResultsCSV(url: folder.appendingPathComponent("absent.csv")).keepRows(throughEpoch: 1)

        try Data("epoch,time\n1,x\n".utf8).write(to: folder.appendingPathComponent("bad.csv"))
        XCTAssertThrowsError(try ResultsCSV(url: folder.appendingPathComponent("bad.csv")).read()) { error in
            XCTAssert("\(error)".contains("bad.csv:2"), "\(error)")
        }
    }

    // MARK: - Run folders

    func testRunDirectoryIncrementsAndRespectsExistOK() throws {
        let runs = folder.appendingPathComponent("runs")
        let first = try RunDirectory.create(runs: runs)
        XCTAssertEqual(first.url.path, runs.appendingPathComponent("detect/train").path)
        XCTAssert(FileManager.default.fileExists(atPath: first.weights.path))
        XCTAssertEqual(try RunDirectory.create(runs: runs).url.lastPathComponent, "train2")
        XCTAssertEqual(try RunDirectory.create(runs: runs).url.lastPathComponent, "train3")
        XCTAssertEqual(try RunDirectory.create(existOK: true, runs: runs).url.lastPathComponent, "train")
        XCTAssertEqual(first.lastWeights.path, runs.appendingPathComponent("detect/train/weights/last.pt").path)
        XCTAssertEqual(first.bestWeights.lastPathComponent, "best.pt")
        XCTAssertEqual(first.resultsCSV.lastPathComponent, "results.csv")

        // name and project: a relative project nests under runs/<task>, an absolute one is used as it is.
        XCTAssertEqual(try RunDirectory.create(name: "exp", runs: runs).url.path,
                       runs.appendingPathComponent("detect/exp").path)
        XCTAssertEqual(try RunDirectory.create(name: "exp", runs: runs).url.lastPathComponent, "exp2")
        XCTAssertEqual(try RunDirectory.create(mode: "val", project: "mine", runs: runs).url.path,
                       runs.appendingPathComponent("detect/mine/val").path)
        let absolute = folder.appendingPathComponent("elsewhere").path
        XCTAssertEqual(try RunDirectory.create(project: absolute, name: "a", runs: runs).url.path, absolute + "/a")

        // A file keeps its extension last, as increment_path does; the reference's newer "-" separator works too.
        let file = folder.appendingPathComponent("results.txt")
        try Data().write(to: file)
        XCTAssertEqual(RunDirectory.incremented(file, existOK: false).lastPathComponent, "results2.txt")
        XCTAssertEqual(RunDirectory.incremented(first.url, existOK: false, separator: "-").lastPathComponent,
                       "train-2")
    }

    // MARK: - args.yaml

    func testArgsYAMLReproducesTheReferenceSample() throws {
        let sample = try String(contentsOfFile: Fixtures.shared("reference/sample-run/args.yaml"), encoding: .utf8)
        let tree = try ConfigValue(yaml: sample)
        let pairs = try XCTUnwrap(tree.dict).map { ($0.0.string!, $0.1) }
        XCTAssertEqual(pairs.count, 114)
        // The sample's `project` was emptied when its local path was shortened; every other line must match.
        let expected = sample.split(separator: "\n").filter { !$0.hasPrefix("project:") }
        let rendered = ArgsYAML.render(pairs).split(separator: "\n").filter { !$0.hasPrefix("project:") }
        XCTAssertEqual(rendered, expected)

        let url = folder.appendingPathComponent("args.yaml")
        try ArgsYAML.write([("project", .string("")), ("device", .string("0")), ("lr", .double(1e-5))], to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "project: ''\ndevice: '0'\nlr: 1.0e-05\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["args.yaml"])
    }

    func testArgsYAMLQuotesLikePyYAML() {
        // Expected strings are what PyYAML's safe_dump writes for the same values.
        let cases: [(ConfigValue, String)] = [
            (.string(""), "''"), (.string("0"), "'0'"), (.string("a: b"), "'a: b'"), (.string("it's"), "it's"),
            (.string("-x"), "-x"), (.string("yes"), "'yes'"), (.string("a #b"), "'a #b'"), (.string("1e3"), "1e3"),
            (.string("runs/detect/train"), "runs/detect/train"), (.string("1.5"), "'1.5'"), (.string("*x"), "'*x'"),
            (.double(0.0005), "0.0005"), (.double(3), "3.0"), (.double(1e16), "1.0e+16"),
            (.double(123456789.123), "123456789.123"), (.bool(true), "true"), (.null, "null"), (.int(-3), "-3"),
        ]
        for (value, expected) in cases { XCTAssertEqual(ArgsYAML.scalar(value), expected, "\(value)") }
        let nested = ArgsYAML.render([
            ("h", .list([.int(0), .int(2)])),
            ("i", .dict([(.string("x"), .int(1)), (.string("y"), .list([.int(1)]))])),
            ("o", .list([.list([.int(1), .int(2)]), .dict([(.string("p"), .int(1))])])),
            ("e", .list([])),
        ])
        XCTAssertEqual(nested, "h:\n- 0\n- 2\ni:\n  x: 1\n  y:\n  - 1\no:\n- - 1\n  - 2\n- p: 1\ne: []\n")
    }

    // MARK: - Console table

    func testTrainingTableMatchesTheReferenceConsole() throws {
        let console = try String(contentsOfFile: Fixtures.shared("reference/sample-run/console.txt"), encoding: .utf8)
        let lines = console.split(separator: "\n").map(String.init)
        XCTAssert(lines.contains(TrainingTable.epochHeader()))
        let description = TrainingTable.epochDescription(
            epoch: 1, epochs: 3, memoryGB: 0, losses: [2.94526, 5.54955, 4.47431], instances: 13, size: 320)
        XCTAssert(lines.contains { $0.hasPrefix(description + ": 100%") }, description)
        XCTAssert(lines.contains { $0.hasPrefix(TrainingTable.validationHeader() + ": 100%") })
        XCTAssert(lines.contains(TrainingTable.validationRow(
            name: "all", images: 4, instances: 17, precision: 0, recall: 0, mAP50: 0, mAP50_95: 0)))
        XCTAssertEqual(TrainingTable.validationRow(
            name: "person", images: 3, instances: 10, precision: 0.51234, recall: 1, mAP50: 0.0012345, mAP50_95: 0.25),
            "                person          3         10      0.512          1    0.00123       0.25")
    }

    // MARK: - results.png

    func testResultsPlotIsWrittenAtTheReferencesSize() throws {
        let csv = ResultsCSV(directory: folder)
        for epoch in 1 ... 12 {
            let e = Double(epoch)
            let values = ResultsCSV.detectionColumns.enumerated().map { i, name -> Double in
                name.contains("loss") ? 3 / e + 0.1 * Double(i) : name.hasPrefix("lr") ? 0.01 / e : 1 - 1 / e
            }
            try csv.append(epoch: epoch, time: e * 2, metrics: Array(zip(ResultsCSV.detectionColumns, values)))
        }
        let table = try csv.read()
        XCTAssertEqual(ResultsPlot.columns(of: table), [
            "train/box_loss", "train/cls_loss", "train/dfl_loss", "metrics/precision(B)", "metrics/recall(B)",
            "val/box_loss", "val/cls_loss", "val/dfl_loss", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
        ])
        let url = try ResultsPlot.write(csv: csv.url)
        XCTAssertEqual(url.lastPathComponent, "results.png")
        keepArtifact(url)
        let image = try Image(contentsOf: url.path)
        XCTAssertEqual([image.width, image.height], [2400, 1200])
        // Lines in the series colours, on white.
        let bytes = image.bytes
        var blue = 0, orange = 0, white = 0
        for i in stride(from: 0, to: bytes.count, by: 3) {
            let (b, g, r) = (bytes[i], bytes[i + 1], bytes[i + 2])
            if (b, g, r) == (180, 119, 31) { blue += 1 }
            if (b, g, r) == (14, 127, 255) { orange += 1 }
            if (b, g, r) == (255, 255, 255) { white += 1 }
        }
        XCTAssertGreaterThan(blue, 2000)
        XCTAssertGreaterThan(orange, 500)
        XCTAssertGreaterThan(white, bytes.count / 3 / 2)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)),
                       ["results.csv", "results.png"])

        // Edge cases draw without failing: one epoch, a flat column, a NaN.
        let one = ResultsCSV.Table(columns: ["epoch", "time", "train/box_loss", "metrics/mAP50(B)"],
                                   rows: [[1, 1, .nan, 0]])
        let small = try ResultsPlot.render(one, width: 600, height: 300)
        XCTAssertEqual([small.width, small.height], [600, 300])
    }

    func testChartScaleTicksAndSmoothing() {
        XCTAssertEqual(ChartScale.ticks(low: 0, high: 1), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(ChartScale.labels([0, 0.25, 0.5]), ["0.00", "0.25", "0.50"])
        XCTAssertEqual(ChartScale.ticks(low: 0.6, high: 3.4, integers: true), [1, 2, 3])
        XCTAssertEqual(ChartScale.ticks(low: 0.45, high: 12.55, integers: true), [2, 4, 6, 8, 10, 12])
        XCTAssertEqual(ChartScale.ticks(low: -4, high: 105, integers: true), [0, 20, 40, 60, 80, 100])
        // The reference's smoothing keeps a constant series and a line's interior unchanged.
        for v in ChartScale.smooth([2, 2, 2, 2]) { XCTAssertEqual(v, 2, accuracy: 1e-12) }
        let line = (0 ..< 40).map(Double.init)
        XCTAssertEqual(ChartScale.smooth(line)[20], 20, accuracy: 1e-9)
        // numpy: _gaussian_filter1d([0, 1, 0, 0, 5]) from ultralytics.utils.plotting.
        let expected = [0.93271, 1.033759, 1.19875, 1.365471, 1.46931]
        for (a, b) in zip(ChartScale.smooth([0, 1, 0, 0, 5]), expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }
}

/// Copies a file a person may want to look at into $YOLO_TEST_ARTIFACTS, when that is set.
func keepArtifact(_ url: URL, as name: String? = nil) {
    guard let folder = ProcessInfo.processInfo.environment["YOLO_TEST_ARTIFACTS"], !folder.isEmpty else { return }
    let destination = URL(fileURLWithPath: folder).appendingPathComponent(name ?? url.lastPathComponent)
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(at: destination)
    try? FileManager.default.copyItem(at: url, to: destination)
}
