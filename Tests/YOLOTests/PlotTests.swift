import Foundation
import Vision
import XCTest

@testable import YOLO

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The plotting layer: both back ends, where data lands, and the files the reference's validator and trainer write.
final class PlotTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("plot-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: - The canvas

    /// A chart of one known line: y = x on axes from 0 to 10.
    private struct KnownLine: Figure {
        let width = 400, height = 300
        var axes: Axes {
            Axes(in: PlotRect(x: 20, y: 20, width: 360, height: 260), x: Axis.linear(0, 10, title: "x"),
                 y: Axis.linear(0, 10, title: "y"), title: "known", style: PlotStyle(dpi: 72))
        }

        func draw(on canvas: Canvas) throws {
            try canvas.polyline([axes.point(0, 0), axes.point(5, 5), axes.point(10, 10)],
                                stroke: Stroke(color: Palette.blue, width: 3))
            try canvas.circle(center: axes.point(2, 8), radius: 4, fill: Color(b: 0, g: 0, r: 255))
            try axes.drawDecorations(on: canvas, title: "known", style: PlotStyle(dpi: 72))
        }
    }

    func testKnownDataLandsWhereItShouldInBothBackEnds() throws {
        let chart = KnownLine()
        let axes = chart.axes
        // The mapping: data corners are the plot area's corners, y up.
        XCTAssertEqual(axes.px(0), axes.area.x, accuracy: 1e-9)
        XCTAssertEqual(axes.px(10), axes.area.maxX, accuracy: 1e-9)
        XCTAssertEqual(axes.py(0), axes.area.maxY, accuracy: 1e-9)
        XCTAssertEqual(axes.py(10), axes.area.y, accuracy: 1e-9)

        // Raster: the line's middle and the red dot are where the data says, and not elsewhere.
        let image = try chart.image()
        XCTAssertEqual([image.width, image.height], [400, 300])
        let middle = axes.point(5, 5), dot = axes.point(2, 8), off = axes.point(8, 2)
        XCTAssertEqual(image.pixel(x: Int(middle.x.rounded()), y: Int(middle.y.rounded())), [255, 0, 0])
        XCTAssertEqual(image.pixel(x: Int(dot.x.rounded()), y: Int(dot.y.rounded())), [0, 0, 255])
        XCTAssertEqual(image.pixel(x: Int(off.x.rounded()), y: Int(off.y.rounded())), [255, 255, 255])

        // SVG: the same coordinates in the polyline and the circle.
        let svg = try XMLDocument(xmlString: try chart.svg())
        let line = try XCTUnwrap(try svg.nodes(forXPath: "//*[local-name()='polyline']").first as? XMLElement)
        let points = try XCTUnwrap(line.value(of: "points")).split(separator: " ")
        XCTAssertEqual(points.count, 3)
        let mid = points[1].split(separator: ",").compactMap { Double($0) }
        XCTAssertEqual(mid[0], middle.x, accuracy: 0.01)
        XCTAssertEqual(mid[1], middle.y, accuracy: 0.01)
        let circle = try XCTUnwrap(try svg.nodes(forXPath: "//*[local-name()='circle']").first as? XMLElement)
        XCTAssertEqual(Double(circle.value(of: "cx") ?? "") ?? -1, dot.x, accuracy: 0.01)
        XCTAssertEqual(Double(circle.value(of: "cy") ?? "") ?? -1, dot.y, accuracy: 0.01)
        XCTAssertEqual(circle.value(of: "fill"), "#ff0000")
        let texts = Set(try svg.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue))
        XCTAssertTrue(texts.isSuperset(of: ["known", "x", "y", "0", "10"]), "\(texts)")
    }

    func testRotatedTextReadsUpwardLeftOfItsAnchor() throws {
        let canvas = try RasterCanvas(width: 200, height: 200)
        try canvas.text("Precision", at: Point(100, 100), style: TextStyle(
            size: 20, horizontal: .center, vertical: .bottom, rotated: true))
        var xs: [Int] = [], ys: [Int] = []
        for y in 0 ..< 200 { for x in 0 ..< 200 where canvas.image.pixel(x: x, y: y)[0] < 128 { xs.append(x); ys.append(y) } }
        let width = xs.max()! - xs.min()!, height = ys.max()! - ys.min()!
        XCTAssertGreaterThan(height, 3 * width, "turned text is tall and narrow")
        XCTAssertLessThanOrEqual(xs.max()!, 101, "the text's bottom faces its anchor")
        XCTAssertEqual(Double(ys.min()! + ys.max()!) / 2, 100, accuracy: 3, "centred on the anchor")
        // SVG turns it about the anchor.
        let svg = SVGCanvas(width: 200, height: 200)
        try svg.text("Precision", at: Point(100, 100), style: TextStyle(size: 20, rotated: true))
        XCTAssertTrue(svg.document.contains(#"transform="rotate(-90 100 100)""#), svg.document)
    }

    func testSVGNumbersAreShort() throws {
        let svg = SVGCanvas(width: 10, height: 10, background: nil)
        try svg.circle(center: Point(-2.5, 3.07), radius: 12.0001, fill: .black)
        try svg.circle(center: Point(-0.004, 0.996), radius: 0.05, fill: .black)
        XCTAssertTrue(svg.document.contains(##"<circle cx="-2.5" cy="3.07" r="12" fill="#000000"/>"##), svg.document)
        XCTAssertTrue(svg.document.contains(#"<circle cx="0" cy="1" r="0.05""#), svg.document)
    }

    func testDashPatternsWalkTheLine() {
        let line = [Point(0, 0), Point(10, 0), Point(10, 10)]
        let dots = Dashes.dots(along: line, spacing: 4)
        XCTAssertEqual(dots.count, 6)  // at 0, 4, 8, 12, 16, 20
        XCTAssertEqual(dots[3], Point(10, 2))
        let dashes = Dashes.segments(along: line, on: 3, off: 2)
        XCTAssertEqual(dashes.count, 4)  // 0-3, 5-8, 10-13 (around the corner), 15-18
        XCTAssertEqual(dashes[2], [Point(10, 0), Point(10, 3)])
        XCTAssertEqual(dashes[1], [Point(5, 0), Point(8, 0)])
    }

    // MARK: - Validation plots

    /// Three classes, ten images: class 0 found well, class 1 half the time, class 2 never.
    private func validationResults() -> (DetectionResults, ConfusionMatrix) {
        let names = [0: "person", 1: "dog", 2: "horse"]
        var metrics = DetectionMetrics(names: names)
        var confusion = ConfusionMatrix(names: names)
        for image in 0 ..< 10 {
            func box(_ k: Float) -> BoundingBox { BoundingBox(x1: 10 * k, y1: 10 * k, x2: 10 * k + 8, y2: 10 * k + 8) }
            let truth = [LabeledBox(box: box(0), classIndex: 0), LabeledBox(box: box(1), classIndex: 1),
                         LabeledBox(box: box(2), classIndex: 2)]
            var found = [Detection(box: box(0), confidence: 0.9 - Float(image) * 0.01, classIndex: 0)]
            if image % 2 == 0 { found.append(Detection(box: box(1), confidence: 0.6, classIndex: 1)) }
            found.append(Detection(box: box(5), confidence: 0.3, classIndex: 2))  // a horse where nothing is
            metrics.update(predictions: found, groundTruth: truth)
            confusion.process(detections: found, groundTruth: truth, conf: 0.25)
        }
        return (metrics.compute(), confusion)
    }

    func testValidationPlotsAreTheReferencesFilesAndSizes() throws {
        let (results, confusion) = validationResults()
        let urls = try ValidationPlots.write(results: results, confusion: confusion, to: folder)
        XCTAssertEqual(urls.map(\.lastPathComponent), [
            "BoxPR_curve.png", "BoxF1_curve.png", "BoxP_curve.png", "BoxR_curve.png",
            "confusion_matrix_normalized.png", "confusion_matrix.png",
        ])
        for url in urls {
            keepArtifact(url)
            let image = try Image(contentsOf: url.path)
            let expected = url.lastPathComponent.hasPrefix("confusion") ? [3000, 2250] : [2250, 1500]
            XCTAssertEqual([image.width, image.height], expected, url.lastPathComponent)
            let white = countPixels(image) { $0 == 255 && $1 == 255 && $2 == 255 }
            let pixels = image.width * image.height
            XCTAssertGreaterThan(white, pixels / 2, "\(url.lastPathComponent): on white")
            XCTAssertLessThan(white, pixels - 20_000, "\(url.lastPathComponent): something drawn")
        }
        // The bold blue mean runs through the PR plot; the confusion matrix has dark blue cells.
        let pr = try Image(contentsOf: folder.appendingPathComponent("BoxPR_curve.png").path)
        XCTAssertGreaterThan(countPixels(pr) { $0 == 255 && $1 == 0 && $2 == 0 }, 5_000)
        let matrix = try Image(contentsOf: folder.appendingPathComponent("confusion_matrix.png").path)
        let dark = countPixels(matrix) { b, _, r in b > 90 && r < 20 }
        XCTAssertGreaterThan(dark, 10_000)
    }

    func testCurveSVGHasOnePolylinePerSeriesAndTheReferencesLegend() throws {
        let (results, _) = validationResults()
        for plot in [CurvePlot.precisionRecall(results), CurvePlot.metricConfidence(results, metric: .f1)] {
            let svg = try XMLDocument(xmlString: try plot.svg())
            let polylines = try svg.nodes(forXPath: "//*[local-name()='polyline']").compactMap { $0 as? XMLElement }
            // Series run across the plot (a flat one keeps only its ends); legend samples and ticks are short.
            let series = polylines.filter { line in
                let xs = (line.value(of: "points") ?? "").split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }
                return (xs.max() ?? 0) - (xs.min() ?? 0) > 500
            }
            XCTAssertEqual(series.count, 4, "three classes and the mean")
            XCTAssertEqual(series.last?.value(of: "stroke"), "#0000ff")
            let texts = try svg.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
            XCTAssertTrue(texts.contains(plot.meanLabel))
            XCTAssertTrue(texts.contains(plot.title))
        }
        let pr = CurvePlot.precisionRecall(results)
        XCTAssertEqual(pr.meanLabel, String(format: "all classes %.3f mAP@0.5", results.map50))
        XCTAssertEqual(pr.curves.map(\.label), [
            String(format: "person %.3f", results.perClass.ap[0][0]), String(format: "dog %.3f", results.perClass.ap[1][0]),
            "horse 0.000",
        ])
        XCTAssertEqual(pr.title, "Precision-Recall Curve")
        let f1 = CurvePlot.metricConfidence(results, metric: .f1)
        XCTAssertEqual(f1.title, "F1-Confidence Curve")
        XCTAssertTrue(f1.meanLabel.hasPrefix("all classes 0."), f1.meanLabel)
        XCTAssertTrue(f1.meanLabel.range(of: #"^all classes \d\.\d\d at \d\.\d\d\d$"#, options: .regularExpression) != nil)
        XCTAssertEqual(CurvePlot.Metric.allCases.map(\.fileName), ["BoxF1_curve.png", "BoxP_curve.png", "BoxR_curve.png"])
        // 21 classes or more: grey lines, only the mean in the legend.
        let many = CurvePlot(title: "t", xLabel: "x", yLabel: "y", x: [0, 0.5, 1],
                             curves: (0 ..< 25).map { _ in (nil, [0, 0.5, 1]) }, mean: [0, 0.5, 1], meanLabel: "all")
        let greys = try many.svg().components(separatedBy: ##"stroke="#808080""##).count - 1
        XCTAssertEqual(greys, 25)
    }

    func testConfusionMatrixShowsItsCountsAndNames() throws {
        var matrix = ConfusionMatrix(names: [0: "cat", 1: "dog"])
        func box(_ k: Float) -> BoundingBox { BoundingBox(x1: 20 * k, y1: 0, x2: 20 * k + 10, y2: 10) }
        // 7 cats found, 3 cats called dogs, 5 dogs missed, 2 detections of nothing.
        var truth: [LabeledBox] = [], found: [Detection] = []
        for k in 0 ..< 7 { truth.append(LabeledBox(box: box(Float(k)), classIndex: 0)); found.append(Detection(box: box(Float(k)), confidence: 0.9, classIndex: 0)) }
        for k in 7 ..< 10 { truth.append(LabeledBox(box: box(Float(k)), classIndex: 0)); found.append(Detection(box: box(Float(k)), confidence: 0.8, classIndex: 1)) }
        for k in 10 ..< 15 { truth.append(LabeledBox(box: box(Float(k)), classIndex: 1)) }
        for k in 20 ..< 22 { found.append(Detection(box: box(Float(k)), confidence: 0.7, classIndex: 1)) }
        matrix.process(detections: found, groundTruth: truth)
        XCTAssertEqual(matrix.matrix, [[7, 0, 0], [3, 0, 2], [0, 5, 0]])

        let counts = try XMLDocument(xmlString: try ConfusionMatrixPlot(matrix, normalize: false).svg())
        let texts = try counts.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        for expected in ["7", "3", "2", "5", "cat", "dog", "background", "True", "Predicted", "Confusion Matrix"] {
            XCTAssertTrue(texts.contains(expected), "\(expected) in \(texts)")
        }
        // Cell values are the centred numbers (tick labels are anchored at an end); empty cells are blank.
        let centred = try counts.nodes(forXPath: "//*[local-name()='text'][@text-anchor='middle']").compactMap(\.stringValue)
        XCTAssertEqual(centred.filter { Int($0) != nil }.sorted(), ["2", "3", "5", "7"])
        let normalized = try ConfusionMatrixPlot(matrix, normalize: true).svg()
        for expected in [">0.70<", ">0.30<", ">1.00<", "Confusion Matrix Normalized"] {
            XCTAssertTrue(normalized.contains(expected), expected)
        }
        XCTAssertEqual(ConfusionMatrixPlot(matrix, normalize: true).fileName, "confusion_matrix_normalized.png")
        XCTAssertEqual(ConfusionMatrixPlot(matrix, normalize: false).fileName, "confusion_matrix.png")
        // The strongest cell is the darkest blue of the map, in white text.
        XCTAssertTrue(normalized.contains(##"fill="#08306b""##))
    }

    /// The reference's matrix for its overfit checkpoint on coco8's training images at 320 (`yolo val ... plots=True`,
    /// `metrics.confusion_matrix.matrix`): its non-zero cells, (predicted, true) -> count; 80 is background.
    private static let referenceConfusion: [[Int]: Int] = [
        [0, 80]: 1, [6, 80]: 5, [11, 80]: 1, [13, 80]: 2, [14, 80]: 3, [15, 80]: 1, [19, 80]: 3, [21, 80]: 4,
        [22, 80]: 21, [24, 80]: 1, [26, 80]: 4, [29, 80]: 3, [30, 80]: 2, [31, 80]: 1, [33, 80]: 3, [34, 80]: 4,
        [35, 80]: 2, [37, 80]: 2, [38, 80]: 1, [43, 80]: 1, [44, 80]: 2, [45, 45]: 3, [45, 50]: 1, [45, 80]: 140,
        [46, 80]: 1, [47, 80]: 8, [48, 80]: 8, [49, 80]: 1, [50, 80]: 18, [53, 80]: 1, [54, 80]: 10, [56, 80]: 5,
        [58, 80]: 2, [72, 80]: 1, [75, 80]: 10, [76, 80]: 9, [77, 80]: 4, [78, 80]: 1, [79, 80]: 10, [80, 22]: 1,
        [80, 23]: 2, [80, 49]: 4, [80, 58]: 1, [80, 75]: 1,
    ]

    func testValidatorConfusionMatrixMatchesTheReferenceAndItsPlotsAreWritten() throws {
        let config = try Config([
            "data": .string(try SharedDatasets.yaml("coco8-trainval.yaml")), "imgsz": .int(320), "batch": .int(16),
            "workers": .int(2), "mode": .string("val"),
        ])
        let model = try DetectionModel.load(
            contentsOf: try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt"))
        let validator = try Validator.forDataset(config, names: model.names)
        validator.files = ValidationFiles(folder: folder, plots: true, saveJSON: false,
                                          classMap: Array(1 ... 80), names: (0 ..< 80).map { model.names[$0] ?? "" })
        let output = try validator.run(model, showProgress: false)
        let matrix = try XCTUnwrap(output.confusion).matrix
        var ours: [[Int]: Int] = [:]
        for (p, row) in matrix.enumerated() { for (t, count) in row.enumerated() where count > 0 { ours[[p, t]] = Int(count) } }
        // Every cell, background included (detections down to conf 0.001, as the reference counts them).
        for key in Set(ours.keys).union(Self.referenceConfusion.keys) {
            XCTAssertEqual(ours[key] ?? 0, Self.referenceConfusion[key] ?? 0, "cell \(key)")
        }
        let written = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        XCTAssertTrue(written.isSuperset(of: [
            "BoxPR_curve.png", "BoxF1_curve.png", "BoxP_curve.png", "BoxR_curve.png", "confusion_matrix.png",
            "confusion_matrix_normalized.png",
        ]), "\(written)")
    }

    // MARK: - labels.jpg

    func testLabelsPlotDrawsTheHistogramsAndBoxes() throws {
        let labels = [
            ImageLabel(imageFile: "a.jpg", shape: ImageShape(height: 100, width: 100), classes: [0, 0, 2],
                       boxes: [SIMD4(0.5, 0.5, 0.2, 0.3), SIMD4(0.2, 0.7, 0.1, 0.1), SIMD4(0.8, 0.3, 0.6, 0.5)]),
            ImageLabel(imageFile: "b.jpg", shape: ImageShape(height: 100, width: 100), classes: [0],
                       boxes: [SIMD4(0.4, 0.4, 0.3, 0.3)]),
        ]
        let plot = LabelsPlot(labels: labels, names: [0: "person", 1: "car", 2: "dog"])
        let url = folder.appendingPathComponent("labels.jpg")
        try plot.write(to: url)
        keepArtifact(url)
        let image = try Image(contentsOf: url.path)
        XCTAssertEqual([image.width, image.height], [1600, 1600])
        let ink = countPixels(image) { $0 < 200 || $1 < 200 || $2 < 200 }
        XCTAssertGreaterThan(ink, 5_000)

        let svg = try XMLDocument(xmlString: try plot.svg())
        let texts = try svg.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        for expected in ["person", "car", "dog", "instances", "x", "y", "width", "height", "3", "1"] {
            XCTAssertTrue(texts.contains(expected), "\(expected) in \(texts)")
        }
        // Bars in the class colours: class 0 three tall, class 2 one tall, class 1 none.
        let rects = try svg.nodes(forXPath: "//*[local-name()='rect']").compactMap { $0 as? XMLElement }
        func bars(_ c: Int) -> [Double] {
            let fill = String(format: "#%02x%02x%02x", BatchPlot.color(forClass: c).r, BatchPlot.color(forClass: c).g,
                              BatchPlot.color(forClass: c).b)
            return rects.filter { $0.value(of: "fill") == fill }
                .compactMap { Double($0.value(of: "height") ?? "") }
        }
        XCTAssertEqual(bars(0).count, 1)
        XCTAssertEqual(bars(1).count, 0)
        XCTAssertEqual(bars(0)[0] / bars(2)[0], 3, accuracy: 0.01)
    }

    func testTrainingWritesLabelsAndTheFinalValidationPlots() throws {
        let data = try BuiltInDataset.shapes(
            seed: 7, trainImages: 4, valImages: 2, imageSize: 64, root: folder.appendingPathComponent("shapes"),
            progress: false
        ).path
        let trainer = try Trainer(try Config([
            "data": .string(data), "model": .string("yolov8n.yaml"), "imgsz": .int(64), "batch": .int(4),
            "nbs": .int(4), "workers": .int(1), "epochs": .int(1), "project": .string(folder.appendingPathComponent("runs").path),
            "name": .string("plots"), "optimizer": .string("SGD"),
        ]))
        trainer.log = { _ in }
        let run = try trainer.train().run.url
        let written = Set(try FileManager.default.contentsOfDirectory(atPath: run.path))
        XCTAssertTrue(written.isSuperset(of: [
            "labels.jpg", "results.png", "confusion_matrix.png", "confusion_matrix_normalized.png",
        ]), "\(written)")
        let labels = try Image(contentsOf: run.appendingPathComponent("labels.jpg").path)
        XCTAssertEqual([labels.width, labels.height], [1600, 1600])
    }

    // MARK: - results.png on the canvas

    func testResultsPlotSVGHasTenChartsWithTwoSeriesEach() throws {
        let columns = ["epoch", "time"] + ResultsCSV.detectionColumns
        let rows = (1 ... 5).map { e in [Double(e), Double(e)] + ResultsCSV.detectionColumns.map { _ in 1 / Double(e) } }
        let svg = try XMLDocument(xmlString: try ResultsPlot.svg(ResultsCSV.Table(columns: columns, rows: rows)))
        let polylines = try svg.nodes(forXPath: "//*[local-name()='polyline']").compactMap { $0 as? XMLElement }
        let series = polylines.filter { ($0.value(of: "points") ?? "").split(separator: " ").count == 5 }
        XCTAssertEqual(series.count, 20)
        let texts = try svg.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        XCTAssertTrue(texts.contains("metrics/mAP50-95(B)"))
        XCTAssertTrue(texts.contains("smooth"))
    }
}

extension XMLElement {
    /// An attribute's value by its plain name (the SVG namespace hides it from `attribute(forName:)` on Linux).
    func value(of name: String) -> String? {
        attributes?.first { $0.name == name || $0.localName == name }?.stringValue
    }
}

/// Pixels of an image whose B, G, R pass `test`.
func countPixels(_ image: Image, where test: (UInt8, UInt8, UInt8) -> Bool) -> Int {
    image.withUnsafeBytes { bytes in
        var count = 0
        for i in stride(from: 0, to: bytes.count, by: 3) where test(bytes[i], bytes[i + 1], bytes[i + 2]) { count += 1 }
        return count
    }
}
