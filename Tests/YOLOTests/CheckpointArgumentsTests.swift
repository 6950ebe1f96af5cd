import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// A loaded checkpoint keeps what its training ran with for the later modes, as the reference's `_reset_ckpt_args`:
/// `imgsz`, `data`, `task` and `single_cls` are val's and predict's defaults; what the caller gives still wins.
final class CheckpointArgumentsTests: TinyDatasetTestCase {
    /// A fresh yolov8n for the tiny dataset, saved as if a training run at `imgsz` on it had written it.
    func checkpoint(imgsz: Int) throws -> String {
        let data = try tinyDataset()
        let model = try YOLO("yolov8n.yaml", nc: BuiltInDataset.classNames.count)
        let trainArgs = try Config(["imgsz": .int(imgsz), "data": .string(data), "epochs": 3, "batch": 4]).entries
        let path = directory.appendingPathComponent("trained-\(imgsz).pt").path
        try model.model.save(to: path, extra: [("train_args", .dict(trainArgs.map { ($0.0, StoredValue($0.1)) }))])
        return path
    }

    func valImage() throws -> String {
        let folder = URL(fileURLWithPath: try tinyDataset()).deletingLastPathComponent().appendingPathComponent("images/val")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().first)
        return folder.appendingPathComponent(name).path
    }

    func testOnlyTheReferencesKeptArgumentsAreKept() throws {
        let model = try YOLO(try checkpoint(imgsz: 64))
        XCTAssertEqual(
            model.checkpointArguments,
            ["imgsz": 64, "data": .string(try tinyDataset()), "task": "detect", "single_cls": false])
        XCTAssertEqual(try YOLO("yolov8n.yaml").checkpointArguments, [:])

        let none = try model.withCheckpointArguments(Config.api("predict", model: model.path, [:], overrides: [:]))
        XCTAssertEqual(none.int("imgsz"), 64)
        XCTAssertEqual(none.string("data"), try tinyDataset())
        XCTAssertEqual(none.int("epochs"), 100, "not a kept argument: the default")
        let given = try model.withCheckpointArguments(
            Config.api("val", model: model.path, ["imgsz": .given(640), "data": .given("other.yaml")], overrides: [:]))
        XCTAssertEqual(given.int("imgsz"), 640, "an explicit imgsz wins, even the default's value")
        XCTAssertEqual(given.string("data"), "other.yaml")
        // The command line's words and a cfg file are given as well.
        let cfg = directory.appendingPathComponent("cfg.yaml")
        try "imgsz: 96\n".write(to: cfg, atomically: true, encoding: .utf8)
        let words = try model.withCheckpointArguments(Config.resolved(["cfg": .string(cfg.path)], mode: "val"))
        XCTAssertEqual(words.int("imgsz"), 96)
    }

    func testValRunsAtTheCheckpointsTrainingImgszUnlessGivenOne() throws {
        let model = try YOLO(try checkpoint(imgsz: 64))
        model.log = { _ in }
        // Four square val images in one batch: the batch plot is a 2 x 2 grid of the batch's rectangle, whose side is
        // (imgsz / 32 + 0.5) rounded up, times 32 (the reference's val padding): 96 at imgsz 64, 128 at 96, 672 at 640.
        func plotWidth(_ name: String) throws -> Int {
            try Image(contentsOf: directory.appendingPathComponent("\(name)/val_batch0_labels.jpg").path).width
        }
        let common: [String: ConfigValue] = ["project": .string(directory.path), "workers": 1, "exist_ok": true]
        let metrics = try model.val(overrides: common.merging(["name": "default"]) { $1 })  // data: the checkpoint's too
        XCTAssertEqual(metrics.box.imageCount, 4)
        XCTAssertEqual(try plotWidth("default"), 2 * 96)
        try model.val(imgsz: 96, overrides: common.merging(["name": "given"]) { $1 })
        XCTAssertEqual(try plotWidth("given"), 2 * 128)
    }

    func testPredictRunsAtTheCheckpointsTrainingImgszUnlessGivenOne() throws {
        let model = try YOLO(try checkpoint(imgsz: 64))
        var lines: [String] = []
        model.log = { lines.append($0) }
        let image = try valImage()
        try model.predict(image)
        XCTAssertTrue(lines.contains { $0.hasPrefix("image 1/1 \(image): 64x64 ") }, "\(lines)")
        lines = []
        try model.predict(image, imgsz: 96)
        XCTAssertTrue(lines.contains { $0.hasPrefix("image 1/1 \(image): 96x96 ") }, "\(lines)")
    }

    /// export, benchmark and train take them too: the reference's `{**self.overrides, **custom, **kwargs}`.
    func testExportAndTrainRunAtTheCheckpointsTrainingImgszUnlessGivenOne() throws {
        let model = try YOLO(try checkpoint(imgsz: 64))
        model.log = { _ in }
        func inputShape(_ file: URL) throws -> [Int64] {
            try ONNXModelProto(serializedBytes: Data(contentsOf: file)).graph.input[0].type.tensorType.shape.dim
                .map(\.dimValue)
        }
        XCTAssertEqual(try inputShape(try model.export(format: .onnx, to: directory.appendingPathComponent("a.onnx"))), [1, 3, 64, 64])
        XCTAssertEqual(try inputShape(try model.export(Config.api("export", model: model.path, [:], overrides: [:]))), [1, 3, 64, 64])
        let given = try model.export(Config.api("export", model: model.path, ["imgsz": .given(96)], overrides: ["batch": 2]))
        XCTAssertEqual(try inputShape(given), [2, 3, 96, 96])

        // Training from the checkpoint without data or imgsz: its dataset, at its size.
        let result = try model.train(overrides: [
            "epochs": 1, "batch": 4, "workers": 0, "project": .string(directory.path), "name": "again", "val": false,
            "plots": false,
        ])
        let args = try String(contentsOf: result.run.argsYAML, encoding: .utf8)
        XCTAssertTrue(args.contains("\nimgsz: 64\n"), args)
        XCTAssertTrue(args.contains("\ndata: \(try tinyDataset())\n"), args)
    }

    /// The reference's own checkpoint, trained at 320: predicted at 320 when no imgsz is given, as the reference does
    /// (`PredictValTests` checks the boxes at 320 against the reference's).
    func testTheReferencesCheckpointPredictsAtItsTrainingImgsz() throws {
        let path = try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt")
        let model = try YOLO(path)
        XCTAssertEqual(model.checkpointArguments["imgsz"], 320)
        XCTAssertEqual(model.checkpointArguments["data"], "coco8-trainval.yaml")
        let image = try Image(contentsOf: try Fixtures.shared("datasets/coco8/images/train/000000000009.jpg"))
        let byDefault = try model.predict(image)
        XCTAssertEqual(byDefault.boxes.xyxy, try model.predict(image, imgsz: 320).boxes.xyxy)
        XCTAssertNotEqual(byDefault.boxes.xyxy, try model.predict(image, imgsz: 640).boxes.xyxy)
    }
}
