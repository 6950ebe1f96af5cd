import Foundation
import XCTest

@testable import YOLO

/// `yolo benchmark`: its arguments, the reference's table layout, a run on a tiny model, and the command line.
final class BenchmarkTests: XCTestCase {
    func options(_ words: [String]) throws -> BenchmarkOptions {
        try BenchmarkOptions(Config.resolved(Config.parse(words: words), mode: "benchmark"))
    }

    func testArgumentsAsTheReferenceNamesThem() throws {
        let all = try options(["model=best.pt"])
        XCTAssertEqual(all, BenchmarkOptions(data: nil, imgsz: 640, formats: ["-", "onnx"]))
        XCTAssertEqual(try options(["model=m.pt", "data=coco8.yaml", "imgsz=320", "format=onnx"]),
                       BenchmarkOptions(data: "coco8.yaml", imgsz: 320, formats: ["onnx"]))
        XCTAssertEqual(try BenchmarkOptions(Config(["format": "-"])).formats, ["-"])  // on the command line `-` is YAML
        XCTAssertEqual(try options(["format=PyTorch"]).formats, ["-"])
        XCTAssertEqual(try options(["imgsz=[160,160]"]).imgsz, 160)
        for bad in [["format=engine"], ["format=tflite"], ["imgsz=[320,160]"], ["imgsz=16"]] {
            XCTAssertThrowsError(try options(bad), "\(bad)") { XCTAssertTrue($0 is ConfigError, "\($0)") }
        }
        XCTAssertThrowsError(try options(["format=coreml"])) {
            XCTAssertTrue("\($0)".contains("- (PyTorch), onnx (ONNX)"), "\($0)")
        }
    }

    /// The layout polars prints for the reference (ASCII_BORDERS_ONLY_CONDENSED, emoji two columns wide).
    func testTableLayoutIsTheReferences() {
        let report = BenchmarkReport(modelName: "yolov8n.pt", data: "coco8.yaml", imgsz: 640, seconds: 3.456, rows: [
            BenchmarkRow(format: "PyTorch", status: .success, sizeMB: 6.2, metric: 0.6381, inferenceMilliseconds: 42.15),
            BenchmarkRow(format: "ONNX", status: .exportedOnly, sizeMB: 12.2, note: "exported, not run"),
        ])
        let expected = """
            +-------------------------------------------------------------------------------------------+
            |     Format    Status❔   Size (MB)   metrics/mAP50-95(B)   Inference time (ms/im)   FPS   |
            +===========================================================================================+
            | 1   PyTorch   ✅         6.2         0.6381                42.15                    23.72 |
            | 2   ONNX      ❎         12.2        -                     -                        -     |
            +-------------------------------------------------------------------------------------------+
            """
        XCTAssertEqual(report.table, expected)
        XCTAssertTrue(report.text.contains("Benchmarks complete for yolov8n.pt on coco8.yaml at imgsz=640 (3.46s)"))
        XCTAssertTrue(report.text.hasSuffix("2 ONNX: exported, not run\n"), report.text)
    }

    /// PyTorch is measured (mAP, time, FPS); ONNX is exported and sized but marked as not run.
    func testBenchmarkOfATinyModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("benchmark-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try BuiltInDataset.shapes(
            seed: 7, trainImages: 4, valImages: 3, imageSize: 96, root: folder.appendingPathComponent("shapes"), progress: false)
        let weights = folder.appendingPathComponent("tiny.pt").path
        try YOLO("yolov8n.yaml", nc: BuiltInDataset.classNames.count).save(to: weights)

        // benchmarks.log goes to the current directory, as the reference's does.
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(folder.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let model = try YOLO(weights)
        var lines: [String] = []
        model.log = { lines.append($0) }
        let report = try model.benchmark(data: data.path, imgsz: 64, overrides: ["workers": 1])

        XCTAssertEqual(report.rows.map(\.format), ["PyTorch", "ONNX"])
        let pytorch = report.rows[0], onnx = report.rows[1]
        XCTAssertEqual(pytorch.status, .success, pytorch.note ?? "")
        XCTAssertEqual(pytorch.sizeMB, Double(try Data(contentsOf: URL(fileURLWithPath: weights)).count) / 1048576, accuracy: 1e-9)
        XCTAssertNotNil(pytorch.metric)
        XCTAssertGreaterThan(try XCTUnwrap(pytorch.inferenceMilliseconds), 0)
        XCTAssertGreaterThan(try XCTUnwrap(pytorch.fps), 0)
        XCTAssertEqual(onnx.status, .exportedOnly)
        XCTAssertNil(onnx.metric)
        XCTAssertNil(onnx.inferenceMilliseconds)
        XCTAssertTrue(onnx.note?.contains("not run") ?? false, onnx.note ?? "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tiny.onnx").path))
        XCTAssertGreaterThan(onnx.sizeMB, 5)
        XCTAssertTrue(lines.joined().contains(report.table))
        let log = try String(contentsOf: folder.appendingPathComponent("benchmarks.log"), encoding: .utf8)
        XCTAssertTrue(log.contains(report.table))
    }

    /// Segment and pose models are benchmarked on their own metric, as the reference's: mAP50-95 of the masks (M)
    /// or of the keypoints (P), named in the table's header.
    func testSegmentAndPoseBenchmarksReportTheirOwnMetric() throws {
        for (task, kind) in [("seg", "M"), ("pose", "P")] {
            let model = try YOLO(try Fixtures.shared("reference/yolov8n-\(task)-coco8/best.pt"))
            model.log = { _ in }
            let data = try SharedDatasets.yaml("coco8-\(task)-trainval.yaml")
            let report = try model.benchmark(data: data, imgsz: 320, format: "-", overrides: ["workers": 1])
            let row = try XCTUnwrap(report.rows.first)
            XCTAssertEqual(row.status, .success, row.note ?? "")
            XCTAssertTrue(report.table.contains("metrics/mAP50-95(\(kind))"), report.table)
            // The same pass as the benchmark's: batch 1, square letterbox, conf 0.001.
            let output = try model.benchmarkValidation(BenchmarkOptions(data: data, imgsz: 320), config: Config(["workers": 1]))
            let own = try XCTUnwrap(output.instances[kind]).map
            XCTAssertEqual(try XCTUnwrap(row.metric), own, accuracy: 1e-9)
            XCTAssertNotEqual(own, output.results.map, "the \(kind) metric, not the boxes'")
            XCTAssertGreaterThan(own, 0.2, "the overfit checkpoint scores well on its training images")
        }
    }

    /// The `yolo` executable built beside the tests: `benchmark` is a mode with help, and bad arguments fail before
    /// any model loads.
    func testCommandLine() throws {
        let build = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [Bundle.main.bundleURL, build].map { $0.appendingPathComponent("yolo") }
            + [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("yolo")]
        guard let yolo = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("no yolo executable beside the test bundle (\(build.path))")
        }
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = yolo
            process.arguments = arguments
            let pipe = Pipe()
            (process.standardOutput, process.standardError) = (pipe, pipe)
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        let help = try run(["help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.output.contains("benchmark"), help.output)
        let modeHelp = try run(["benchmark", "--help"])
        XCTAssertEqual(modeHelp.status, 0)
        XCTAssertTrue(modeHelp.output.contains("yolo benchmark model="), modeHelp.output)
        let noModel = try run(["benchmark", "imgsz=64"])
        XCTAssertEqual(noModel.status, 2)
        XCTAssertTrue(noModel.output.contains("benchmark needs model="), noModel.output)
        let badFormat = try run(["benchmark", "model=missing.pt", "format=engine"])
        XCTAssertEqual(badFormat.status, 2)
        XCTAssertTrue(badFormat.output.contains("format=engine cannot be benchmarked"), badFormat.output)
        let badKey = try run(["benchmark", "model=missing.pt", "imgsize=64"])
        XCTAssertEqual(badKey.status, 2)
        XCTAssertTrue(badKey.output.contains("'imgsize' is not a valid argument"), badKey.output)
    }
}
