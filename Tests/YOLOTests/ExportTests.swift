import Foundation
import Torch
import XCTest

@testable import YOLO

/// ONNX export: the file passes onnx.checker and gives, in ONNX Runtime, what the Swift forward gives.
/// ONNX Runtime comes from a Python named by $ONNX_PYTHON or from `.venv-onnx` in the package root (`.ci/run`
/// makes it); without one the runtime tests skip, and fail under CI.
final class ExportTests: XCTestCase {
    static let checkScript = Fixtures.packageRoot.appendingPathComponent("scripts/onnx/check.py")

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    // MARK: Against ONNX Runtime

    func testExportAt640MatchesTheSwiftForwardInONNXRuntime() throws {
        // A copy of the checkpoint, so that the export lands beside it in a folder of ours.
        let weights = folder.appendingPathComponent("yolov8n-trained.pt")
        let fixture = try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt")
        try FileManager.default.copyItem(atPath: fixture, toPath: weights.path)
        let model = try YOLO(weights.path)
        let file = try model.export(format: .onnx, imgsz: 640)
        XCTAssertEqual(file, folder.appendingPathComponent("yolov8n-trained.onnx"))

        let input = try fixtureTensor("forward_input")
        let report = try runInONNXRuntime([file], input: input)[file.path]!
        XCTAssertEqual(report.inputs, ["images": ["1", "3", "640", "640"]])
        XCTAssertEqual(report.outputs, ["output0": ["1", "84", "8400"]])
        XCTAssertEqual(report.initializerTypes, ["FLOAT", "INT64"])
        XCTAssertEqual(report.metadata["stride"], "32")
        XCTAssertEqual(report.metadata["task"], "detect")
        XCTAssertEqual(report.metadata["batch"], "1")
        XCTAssertEqual(report.metadata["imgsz"], "[640, 640]")
        XCTAssertTrue(report.metadata["names"]?.hasPrefix("{0: 'person', 1: 'bicycle', ") ?? false)
        XCTAssertEqual(report.opset, ExportOptions.supportedOpsets.upperBound)

        let (boxes, probabilities) = try differences(try report.output(), try model(input))
        XCTAssertLessThan(boxes, 1e-3, "boxes (pixels)")
        XCTAssertLessThan(probabilities, 1e-4, "probabilities")
        print("ONNX Runtime vs Swift at 640: boxes \(boxes) px, probabilities \(probabilities)")
    }

    func testDynamicExportRunsAt320x480WithABatchOfTwo() throws {
        let model = try YOLO(try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt"))
        let file = folder.appendingPathComponent("dynamic.onnx")
        try model.model.exportONNX(to: file, options: ExportOptions(dynamic: true))

        // Two different 320×480 crops of the reference's input image.
        let image = try fixtureTensor("forward_input")
        let input = try Tensor.cat(
            [
                image.slice(dim: 2, start: 0, end: 320).slice(dim: 3, start: 0, end: 480),
                image.slice(dim: 2, start: 160, end: 480).slice(dim: 3, start: 120, end: 600),
            ], dim: 0
        ).contiguous()
        let report = try runInONNXRuntime([file], input: input)[file.path]!
        XCTAssertEqual(report.inputs, ["images": ["batch", "3", "height", "width"]])
        XCTAssertEqual(report.outputs, ["output0": ["batch", "84", "anchors"]])
        XCTAssertEqual(report.outputShape, [2, 84, 40 * 60 + 20 * 30 + 10 * 15])

        let (boxes, probabilities) = try differences(try report.output(), try model(input))
        XCTAssertLessThan(boxes, 1e-3, "boxes (pixels)")
        XCTAssertLessThan(probabilities, 1e-4, "probabilities")
        print("ONNX Runtime vs Swift, dynamic, 2×320×480: boxes \(boxes) px, probabilities \(probabilities)")
    }

    func testHalfExportHasFP16WeightsAndStillRuns() throws {
        let model = try YOLO(try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt"))
        try spreadClassProbabilities(model)
        let file = folder.appendingPathComponent("half.onnx"), dynamic = folder.appendingPathComponent("half-dynamic.onnx")
        try model.model.exportONNX(to: file, options: ExportOptions(imgsz: 640, half: true))
        try model.model.exportONNX(to: dynamic, options: ExportOptions(dynamic: true, half: true))
        XCTAssertLessThan(try fileSize(file), 7_000_000, "fp16 weights take half the fp32 file's 12 MB")

        let input = try fixtureTensor("forward_input")
        let expected = try model(input)
        let reports = try runInONNXRuntime([file, dynamic], input: input)
        for url in [file, dynamic] {
            let report = try XCTUnwrap(reports[url.path])
            XCTAssertEqual(report.initializerTypes, ["FLOAT", "FLOAT16", "INT64"])  // FLOAT: Resize's scales
            XCTAssertEqual(report.inputs.values.first?.count, 4)
            XCTAssertEqual(report.inputType, "FLOAT")  // input and output stay fp32, as the reference's
            XCTAssertEqual(report.outputType, "float32")
            let (boxes, probabilities) = try differences(try report.output(), expected)
            XCTAssertLessThan(boxes, 0.5, "boxes (pixels), fp16")
            XCTAssertLessThan(probabilities, 1e-2, "probabilities, fp16")
            print("ONNX Runtime fp16 (\(url.lastPathComponent)) vs Swift fp32 at 640: boxes \(boxes) px, probabilities \(probabilities)")
        }
    }

    func testEverySupportedOpsetPassesTheCheckerAndRuns() throws {
        let model = try YOLO(try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt"))
        try spreadClassProbabilities(model)
        let opsets = ExportOptions.supportedOpsets
        var files: [URL] = []
        for opset in opsets {
            for dynamic in [false, true] where !dynamic || opset == opsets.lowerBound || opset == opsets.upperBound {
                let file = folder.appendingPathComponent("opset\(opset)\(dynamic ? "-dynamic" : "").onnx")
                try model.model.exportONNX(to: file, options: ExportOptions(imgsz: 96, dynamic: dynamic, opset: opset))
                files.append(file)
            }
        }
        let image = try fixtureTensor("forward_input")
        let input = try image.slice(dim: 2, start: 200, end: 296).slice(dim: 3, start: 300, end: 396).contiguous()
        let expected = try model(input)
        let spread = try expected.slice(dim: 1, start: 4)
        XCTAssertGreaterThan(try spread.amax().item() - spread.amin().item(), 0.5)
        let reports = try runInONNXRuntime(files, input: input)
        for file in files {
            let report = try XCTUnwrap(reports[file.path], file.lastPathComponent)
            XCTAssertEqual(report.opset, Int(file.lastPathComponent.dropFirst(5).prefix(2)))
            let (boxes, probabilities) = try differences(try report.output(), expected)
            XCTAssertLessThan(boxes, 1e-3, file.lastPathComponent)
            XCTAssertLessThan(probabilities, 1e-4, file.lastPathComponent)
            print("\(file.lastPathComponent): boxes \(boxes) px, probabilities \(probabilities)")
        }
    }

    // MARK: The file, without a runtime

    func testGraphShapesAndMetadataFollowTheOptions() throws {
        let model = try YOLO("yolov8n.yaml", nc: 3)
        model.model.eval()
        let file = folder.appendingPathComponent("small.onnx")
        try model.model.exportONNX(to: file, options: ExportOptions(imgsz: (100, 130), batch: 4, opset: 12))
        let written = try ONNXModelProto(serializedBytes: Data(contentsOf: file))
        XCTAssertEqual(written.opsetImport.map(\.version), [12])
        XCTAssertEqual(written.irVersion, 7)
        XCTAssertEqual(written.graph.input.map(\.name), ["images"])
        // Sizes round up to a multiple of the largest stride (32), as the reference's.
        XCTAssertEqual(written.graph.input[0].type.tensorType.shape.dim.map(\.dimValue), [4, 3, 128, 160])
        XCTAssertEqual(written.graph.output.map(\.name), ["output0"])
        let anchors: Int64 = 16 * 20 + 8 * 10 + 4 * 5
        XCTAssertEqual(written.graph.output[0].type.tensorType.shape.dim.map(\.dimValue), [4, 7, anchors])
        let metadata = Dictionary(uniqueKeysWithValues: written.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(metadata["imgsz"], "[128, 160]")
        XCTAssertEqual(metadata["batch"], "4")
        XCTAssertEqual(metadata["names"], "{0: 'class0', 1: 'class1', 2: 'class2'}")
        XCTAssertEqual(metadata["args"], "{'batch': 4, 'dynamic': False, 'half': False, 'nms': False, 'opset': 12}")
        // The exported model is a fused copy: the caller's model keeps its batch norms.
        XCTAssertFalse(model.model.isFused)
        XCTAssertTrue(written.graph.initializer.contains { $0.name == "model.0.conv.bias" })
        XCTAssertFalse(written.graph.initializer.contains { $0.name.contains(".bn.") })
    }

    // MARK: Bad input

    func testUnknownFormatIsAClearError() throws {
        let model = try YOLO("yolov8n.yaml", nc: 1)
        XCTAssertThrowsError(try model.export(format: "tflite", to: folder.appendingPathComponent("x"))) { error in
            XCTAssertEqual("\(error)", "unknown export format 'tflite' (this build exports: onnx)")
        }
        XCTAssertEqual(try ExportFormat(named: "ONNX"), .onnx)
    }

    func testUnsupportedOpsetIsAClearError() throws {
        let model = try YOLO("yolov8n.yaml", nc: 1)
        for opset in [11, 99] {
            let file = folder.appendingPathComponent("opset\(opset).onnx")
            XCTAssertThrowsError(try model.export(format: .onnx, opset: opset, to: file)) { error in
                XCTAssertEqual("\(error)", "ONNX opset \(opset) is not supported (this writer supports 12…22)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: file.path), "nothing written")
        }
    }

    func testAFileThatIsNotAModelIsAClearError() throws {
        let junk = folder.appendingPathComponent("best.pt")
        try Data("not a checkpoint".utf8).write(to: junk)
        XCTAssertThrowsError(try YOLO(junk.path).export(format: .onnx)) { error in
            XCTAssertTrue("\(error)".contains(junk.path), "names the file: \(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("best.onnx").path))
    }

    func testBadSizesAndAnUnwritablePathAreClearErrors() throws {
        let model = try YOLO("yolov8n.yaml", nc: 1)
        XCTAssertThrowsError(try model.export(imgsz: 0, to: folder.appendingPathComponent("a.onnx"))) { error in
            XCTAssertEqual("\(error)", "imgsz must be positive, got 0×0")
        }
        XCTAssertThrowsError(try model.export(batch: 0, to: folder.appendingPathComponent("b.onnx"))) { error in
            XCTAssertEqual("\(error)", "batch must be positive, got 0")
        }
        let missing = folder.appendingPathComponent("no/such/folder/c.onnx")
        XCTAssertThrowsError(try model.export(imgsz: 64, to: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot write \(missing.path)"), "\(error)")
        }
    }

    /// A segmentation model: the reference's two outputs, checked in ONNX Runtime.
    func testSegmentExportHasBothOutputsAndMatchesTheSwiftForward() throws {
        let weights = folder.appendingPathComponent("seg.pt")
        try FileManager.default.copyItem(atPath: try Fixtures.shared("reference/\(SegmentModelTests.folder)/best.pt"), toPath: weights.path)
        let model = try YOLO(weights.path)
        let file = try model.export(format: .onnx, imgsz: 320)
        let (values, shape) = try Fixtures.floats("loss_images", in: SegmentModelTests.folder)
        let input = try Tensor(values, shape: shape).slice(dim: 0, end: 1)
        let report = try runInONNXRuntime([file], input: input)[file.path]!
        XCTAssertEqual(report.outputs, ["output0": ["1", "116", "2100"], "output1": ["1", "32", "80", "80"]])
        XCTAssertEqual(report.metadata["task"], "segment")
        XCTAssertEqual(report.metadata["head"], "Segment")

        let (output, raw) = try withNoGrad { try model.model.predict(input) }
        XCTAssertEqual(try report.output().shape, output.shape)
        let outputError = try (report.output() - output).abs().amax().item()
        let protoData = try Data(contentsOf: URL(fileURLWithPath: file.path + ".out1.f32"))
        let onnxProto = try Tensor(protoData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, shape: [1, 32, 80, 80])
        let protoError = try (onnxProto - XCTUnwrap(raw.prototypes)).abs().amax().item()
        print("segment ONNX vs Swift: output0 \(outputError), output1 \(protoError)")
        // Boxes in pixels of 320: ONNX Runtime's direct convolutions against ours, which on pip's torch run the 3x3
        // ones by NNPACK's Winograd kernel (measured 1.13e-3 there, below 1e-3 with oneDNN's).
        XCTAssertLessThan(outputError, 2e-3)
        XCTAssertLessThan(protoError, 1e-3)
    }

    /// A pose model: output0 with the decoded keypoints, kpt_shape in the metadata, checked in ONNX Runtime.
    func testPoseExportMatchesTheSwiftForward() throws {
        let weights = folder.appendingPathComponent("pose.pt")
        try FileManager.default.copyItem(atPath: try Fixtures.shared("reference/\(PoseModelTests.folder)/best.pt"), toPath: weights.path)
        let model = try YOLO(weights.path)
        let file = try model.export(format: .onnx, imgsz: 320)
        let (values, shape) = try Fixtures.floats("loss_images", in: PoseModelTests.folder)
        let input = try Tensor(values, shape: shape).slice(dim: 0, end: 1)
        let report = try runInONNXRuntime([file], input: input)[file.path]!
        XCTAssertEqual(report.outputs, ["output0": ["1", "56", "2100"]])
        XCTAssertEqual(report.metadata["task"], "pose")
        XCTAssertEqual(report.metadata["kpt_shape"], "[17, 3]")
        let error = try (report.output() - model(input)).abs().amax().item()
        print("pose ONNX vs Swift: output0 \(error)")
        XCTAssertLessThan(error, 1e-3)
    }

    // MARK: Helpers

    func fixtureTensor(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name)
        return try Tensor(values, shape: shape)
    }

    /// The checkpoint's class logits barely move from their bias (every probability is about 1.6e-4): a larger
    /// class projection and no bias spread the probabilities over (0, 1), so that a tolerance on them means something.
    func spreadClassProbabilities(_ model: YOLO) throws {
        try withNoGrad {
            for branch in model.model.detect.cv3 {
                let projection = branch.layers[2] as! Conv2d
                try projection.weight.mul_(1000)
                try projection.bias!.zero_()
            }
        }
    }

    func fileSize(_ url: URL) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
    }

    /// Largest differences of boxes (rows 0–3, pixels) and probabilities (rows 4…) between two predictions.
    func differences(_ a: Tensor, _ b: Tensor) throws -> (boxes: Double, probabilities: Double) {
        XCTAssertEqual(a.shape, b.shape)
        return (
            try (a.slice(dim: 1, end: 4) - b.slice(dim: 1, end: 4)).abs().amax().item(),
            try (a.slice(dim: 1, start: 4) - b.slice(dim: 1, start: 4)).abs().amax().item()
        )
    }

    /// What scripts/onnx/check.py reports for one model.
    struct RuntimeReport {
        let path: String
        let json: [String: Any]
        private func values(_ key: String) -> [String: [String]] {
            let list = json[key] as? [[String: Any]] ?? []
            return Dictionary(
                uniqueKeysWithValues: list.map { ($0["name"] as! String, ($0["dims"] as! [Any]).map { "\($0)" }) })
        }
        var inputs: [String: [String]] { values("inputs") }
        var outputs: [String: [String]] { values("outputs") }
        var metadata: [String: String] { json["metadata"] as? [String: String] ?? [:] }
        var initializerTypes: [String] { json["initializer_types"] as? [String] ?? [] }
        var opset: Int? { (json["opset"] as? [String: Int])?[""] }
        var outputShape: [Int] { json["output_shape"] as? [Int] ?? [] }
        var outputType: String? { json["output_type"] as? String }
        var inputType: String? { (json["inputs"] as? [[String: Any]])?.first?["type"] as? String }

        /// The output ONNX Runtime computed.
        func output() throws -> Tensor {
            let data = try Data(contentsOf: URL(fileURLWithPath: path + ".out.f32"))
            return try Tensor(data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, shape: outputShape)
        }
    }

    /// Runs the checker and ONNX Runtime on `models` with `input`; skips without a Python that has them (fails
    /// under CI).
    func runInONNXRuntime(_ models: [URL], input: Tensor) throws -> [String: RuntimeReport] {
        let python = try onnxPython()
        let inputFile = folder.appendingPathComponent("input-\(UUID()).f32")
        try Data(try input.contiguous().bytes()).write(to: inputFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.checkScript.path] + models.map(\.path)
            + ["--input", inputFile.path, "--shape", input.shape.map(String.init).joined(separator: ",")]
        let stdout = Pipe(), stderr = Pipe()
        (process.standardOutput, process.standardError) = (stdout, stderr)
        try process.run()
        // Read before waiting: a full pipe would block the script.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ExportError("check.py failed (\(process.terminationStatus)): \(String(decoding: err, as: UTF8.self))")
        }
        let json = try JSONSerialization.jsonObject(with: out) as! [String: [String: Any]]
        return json.reduce(into: [:]) { $0[$1.key] = RuntimeReport(path: $1.key, json: $1.value) }
    }

    /// $ONNX_PYTHON, else `.venv-onnx/bin/python` in the package root.
    func onnxPython(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates: [String?] = [
            environment["ONNX_PYTHON"], Fixtures.packageRoot.appendingPathComponent(".venv-onnx/bin/python").path,
        ]
        let found = candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
        if let found { return found }
        let message = "no Python with onnx and onnxruntime: set ONNX_PYTHON or create .venv-onnx in the package root"
        if environment["CI"] == "true" {
            XCTFail(message + " (required under CI)", file: file, line: line)
        }
        throw XCTSkip(message)
    }
}
