import Foundation
import Vision
import XCTest

@testable import YOLO

/// `report.html`: what it gathers from a run folder, that it stands alone, and that a browser renders it cleanly.
final class RunReportTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A run folder as training leaves it: results.csv of three epochs, args.yaml, one batch picture.
    private func makeRunFolder() throws -> Data {
        let csv = ResultsCSV(directory: folder)
        for epoch in 1...3 {
            let e = Double(epoch)
            try csv.append(epoch: epoch, time: 10 * e, metrics: ResultsCSV.detectionColumns.map { ($0, 1 / e) })
        }
        try "task: detect\nmode: train\nepochs: 3\n".write(
            to: folder.appendingPathComponent("args.yaml"), atomically: true, encoding: .utf8)
        let picture = try Image(width: 64, height: 48, fill: Color(b: 30, g: 120, r: 200))
        let jpeg = Data(try picture.encoded(as: ".jpg"))
        try jpeg.write(to: folder.appendingPathComponent("val_batch0_pred.jpg"))
        return jpeg
    }

    /// Two classes over four images: class 0 always found, class 1 found in half.
    private func results() -> (DetectionResults, ConfusionMatrix) {
        let names = [0: "cat", 1: "dog"]
        var metrics = DetectionMetrics(names: names)
        var confusion = ConfusionMatrix(names: names)
        let a = BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10), b = BoundingBox(x1: 20, y1: 20, x2: 30, y2: 30)
        for image in 0..<4 {
            let truth = [LabeledBox(box: a, classIndex: 0), LabeledBox(box: b, classIndex: 1)]
            var found = [Detection(box: a, confidence: 0.9, classIndex: 0)]
            if image % 2 == 0 { found.append(Detection(box: b, confidence: 0.5, classIndex: 1)) }
            metrics.update(predictions: found, groundTruth: truth)
            confusion.process(detections: found, groundTruth: truth, conf: 0.25)
        }
        return (metrics.compute(), confusion)
    }

    func testGathersChartsPicturesAndArgumentsIntoOneSelfContainedPage() throws {
        let jpeg = try makeRunFolder()
        let (results, confusion) = results()
        let report = try RunReport.gather(
            folder: folder, title: "train <run>", results: results, confusion: confusion, table: ["all 4 8"])
        // results.csv, then PR, F1, P, R and both confusion matrices.
        XCTAssertEqual(report.charts.map(\.title), [
            "Training", "BoxPR curve", "BoxF1 curve", "BoxP curve", "BoxR curve", "confusion matrix normalized",
            "confusion matrix",
        ])
        XCTAssertEqual(report.pictures.map(\.title), ["val_batch0_pred.jpg"])
        XCTAssertEqual(report.facts.first?.0, "epochs")
        XCTAssertEqual(report.facts.first?.1, "3")
        XCTAssertEqual(report.facts.first { $0.0 == "mAP50" }?.1, String(format: "%.3f", results.map50))

        let html = report.html()
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 7)
        XCTAssertTrue(html.contains("train &lt;run&gt;"), "the title is escaped")
        XCTAssertFalse(html.contains("<run>"))
        XCTAssertTrue(html.contains("epochs: 3"))
        // Nothing is fetched: every src is a data URI, and the only URL is the SVG namespace.
        let sources = html.components(separatedBy: "src=\"").dropFirst().map { $0.prefix(while: { $0 != "\"" }) }
        XCTAssertEqual(sources.count, 1)
        XCTAssertTrue(sources.allSatisfy { $0.hasPrefix("data:image/jpeg;base64,") })
        let embedded = Data(base64Encoded: String(sources[0].dropFirst("data:image/jpeg;base64,".count)))
        XCTAssertEqual(embedded, jpeg)
        let urls = html.components(separatedBy: "http").count - 1
        XCTAssertEqual(urls, html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)

        let url = folder.appendingPathComponent("report.html")
        try report.write(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), html)
    }

    func testAnEmptyFolderStillMakesAPage() throws {
        let report = try RunReport.gather(folder: folder, title: "val", results: nil, confusion: nil)
        XCTAssertTrue(report.charts.isEmpty)
        XCTAssertTrue(report.pictures.isEmpty)
        XCTAssertTrue(report.html().contains("<h1>val</h1>"))
    }

    // MARK: - In a browser

    /// Headless Chromium renders the page to a screenshot and logs nothing to its console. Needs `chromium`
    /// (Debian's package; `.ci/run` installs it); skipped without it unless CI=true.
    func testReportRendersInHeadlessChromiumWithoutConsoleErrors() throws {
        guard let browser = Chromium.find() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { return XCTFail("CI=true but no chromium on PATH") }
            throw XCTSkip("chromium is not installed")
        }
        _ = try makeRunFolder()
        let (results, confusion) = results()
        let page = folder.appendingPathComponent("report.html")
        try RunReport.gather(folder: folder, title: "train", results: results, confusion: confusion).write(to: page)

        let shot = try browser.screenshot(page, size: (1000, 1400), in: folder)
        XCTAssertEqual(shot.console, [], "console messages")
        let image = try Image(contentsOf: shot.png.path)
        XCTAssertEqual(image.width, 1000)
        XCTAssertEqual(image.height, 1400)
        // The page drew something: the heading and the charts are far from a white screen.
        var dark = 0
        image.withUnsafeBytes { for v in $0 where v < 128 { dark += 1 } }
        XCTAssertGreaterThan(dark, 1000)
    }

    /// The console check can fail: a page that logs an error is caught.
    func testTheConsoleCheckCatchesAPageWithAnError() throws {
        guard let browser = Chromium.find() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { return XCTFail("CI=true but no chromium on PATH") }
            throw XCTSkip("chromium is not installed")
        }
        let page = folder.appendingPathComponent("broken.html")
        try "<!DOCTYPE html><html><body><img src=\"missing.png\"><script>console.error('broken page')</script></body></html>"
            .write(to: page, atomically: true, encoding: .utf8)
        let shot = try browser.screenshot(page, size: (400, 300), in: folder)
        XCTAssertTrue(shot.console.contains { $0.contains("broken page") }, "\(shot.console)")
    }
}

/// Debian's headless Chromium, run once per page with a time limit.
private struct Chromium {
    let executable: String

    static func find() -> Chromium? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return Chromium(executable: path)
        }
        return nil
    }

    /// Renders `page` to a PNG of `size`; returns it with the console lines Chromium logged.
    func screenshot(_ page: URL, size: (Int, Int), in folder: URL) throws -> (png: URL, console: [String]) {
        let png = folder.appendingPathComponent(page.deletingPathExtension().lastPathComponent + ".png")
        let profile = folder.appendingPathComponent("chromium-profile-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--window-size=\(size.0),\(size.1)", "--enable-logging=stderr", "--v=0",
            "--screenshot=\(png.path)", page.absoluteString,
        ]
        let log = folder.appendingPathComponent("chromium-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            throw ReportError("chromium did not finish rendering \(page.path) within 90 s")
        }
        try handle.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(process.terminationStatus, 0, text)
        let console = text.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return (png, console)
    }
}
