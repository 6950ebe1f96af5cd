import Foundation
import Torch
import XCTest

@testable import YOLO

/// `yolo pose train` end to end on coco8-pose: the reference's columns, pose validated each epoch, exact resume;
/// keypoints flip by flip_idx; a dataset without kpt_shape is a clear error.
final class PoseTrainingTests: TinyDatasetTestCase {
    func config(_ extra: [String: ConfigValue]) throws -> Config {
        var values: [String: ConfigValue] = [
            "task": .string("pose"), "data": .string(try SharedDatasets.yaml("coco8-pose.yaml")),
            "model": .string("yolov8n-pose.yaml"), "imgsz": .int(64), "batch": .int(4), "nbs": .int(4), "workers": .int(2),
            "project": .string(directory.appendingPathComponent("runs").path), "plots": .bool(false),
            "optimizer": .string("SGD"), "lr0": .double(0.01), "warmup_epochs": .double(1), "close_mosaic": .int(1),
        ]
        for (k, v) in extra { values[k] = v }
        return try Config(values)
    }

    func testPoseTrainingWritesTheReferenceColumnsAndResumesExactly() throws {
        let straight = try Trainer(config(["epochs": .int(3), "name": .string("straight")]))
        straight.log = { _ in }
        let full = try straight.train()
        let table = try ResultsCSV(url: full.run.resultsCSV).read()
        XCTAssertEqual(table.columns, ["epoch", "time"] + ResultsCSV.columns(
            lossNames: ["box_loss", "pose_loss", "kobj_loss", "cls_loss", "dfl_loss"], metricKinds: ["B", "P"]))
        XCTAssertEqual(table.rows.count, 3)
        let pose = try XCTUnwrap(table.columns.firstIndex(of: "train/pose_loss"))
        XCTAssertTrue(table.rows.allSatisfy { $0[pose] > 0 && $0[pose].isFinite })
        XCTAssertNotNil(full.validation?.pose)
        XCTAssertEqual(try YOLO(full.run.bestWeights.path).model.task, .pose)

        let firstPart = try Trainer(config(["epochs": .int(3), "name": .string("parts")]))
        firstPart.log = { _ in }
        firstPart.stopAfterEpochs = 1
        let part = try firstPart.train()
        let resumed = try Trainer(Config(["resume": .string(part.run.lastWeights.path)]))
        resumed.log = { _ in }
        let rest = try resumed.train()
        XCTAssertEqual(rest.epochsCompleted, 3)
        try assertSameLastWeights(full, rest)
    }

    func testADatasetWithoutKeypointShapeIsAClearError() throws {
        let yaml = directory.appendingPathComponent("no-kpt.yaml")
        let original = try String(contentsOfFile: try SharedDatasets.yaml("coco8-pose.yaml"), encoding: .utf8)
        try original.split(separator: "\n").filter { !$0.hasPrefix("kpt_shape") && !$0.hasPrefix("flip_idx") }
            .joined(separator: "\n").write(to: yaml, atomically: true, encoding: .utf8)
        let trainer = try Trainer(config(["epochs": .int(1), "data": .string(yaml.path)]))
        trainer.log = { _ in }
        XCTAssertThrowsError(try trainer.train()) { error in
            XCTAssertTrue("\(error)".contains("kpt_shape"), "\(error)")
        }
    }

    /// `kpt_oks_sigmas` in the dataset YAML replaces the default sigmas in the loss and the metrics, as the
    /// reference's; a list of the wrong length or with a non-positive value is refused naming the key.
    func testKeypointSigmasFromTheDatasetReachTheLossAndTheMetrics() throws {
        func spec(_ sigmas: String) throws -> DatasetSpec {
            let yaml = directory.appendingPathComponent("sigmas.yaml")
            try "path: \(directory.path)\ntrain: images\nval: images\nnames: [a]\nkpt_shape: [4, 3]\n\(sigmas)\n"
                .write(to: yaml, atomically: true, encoding: .utf8)
            return try DatasetSpec(contentsOf: yaml.path)
        }
        XCTAssertNil(try spec("").keypointSigmas)
        let given: [Float] = [0.1, 0.2, 0.3, 0.4]
        XCTAssertEqual(try spec("kpt_oks_sigmas: [0.1, 0.2, 0.3, 0.4]").keypointSigmas, given)
        for bad in ["kpt_oks_sigmas: [0.1, 0.2]", "kpt_oks_sigmas: [0.1, 0.2, 0.3, 0]", "kpt_oks_sigmas: 0.1"] {
            XCTAssertThrowsError(try spec(bad), bad) { XCTAssertTrue("\($0)".contains("kpt_oks_sigmas"), "\($0)") }
        }
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n-pose.yaml", nc: 1, keypointShape: [4, 3]))
        let task = try TaskComponents(model: model, config: Config(), keypointSigmas: given)
        XCTAssertEqual((task.loss as? PoseLoss)?.sigmas, given)
        let matcher = try XCTUnwrap(try instanceMatcher(for: model, masks: nil, oksSigmas: given) as? KeypointMatcher)
        XCTAssertEqual(matcher.sigmas, given)
        XCTAssertEqual((try instanceMatcher(for: model, masks: nil) as? KeypointMatcher)?.sigmas, [Float](repeating: 0.25, count: 4))
    }

    func testHorizontalFlipSwapsKeypointsByFlipIndex() {
        var labels = ObjectLabels(
            classes: [0], boxes: [.init(x1: 10, y1: 10, x2: 30, y2: 30)],
            keypoints: [[SIMD3(12, 20, 2), SIMD3(28, 20, 2), SIMD3(20, 25, 1)]])
        labels.flipHorizontal(width: 100, flipIndex: [1, 0, 2])  // left and right eye swap, the nose stays
        XCTAssertEqual(labels.keypoints?[0], [SIMD3(72, 20, 2), SIMD3(88, 20, 2), SIMD3(80, 25, 1)])
        XCTAssertEqual(labels.boxes[0], .init(x1: 70, y1: 10, x2: 90, y2: 30))
    }

    func testBuiltInShapesWithKeypointsTrainAPoseModel() throws {
        let data = try BuiltInDataset.shapes(
            seed: 7, trainImages: 8, valImages: 4, imageSize: 96, root: directory.appendingPathComponent("shapes"),
            labels: .keypoints, progress: false)
        XCTAssertTrue(data.deletingLastPathComponent().lastPathComponent.hasSuffix("-pose"))
        let spec = try DatasetSpec(contentsOf: data.path)
        XCTAssertEqual(spec.keypointShape?.count, 4)
        XCTAssertEqual(spec.flipIndex, [2, 1, 0, 3])
        var options = LabelScan.Options()
        options.readsKeypoints = true
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: "train"), spec: spec, options: options)
        XCTAssertTrue(scan.labels.allSatisfy { ($0.keypoints?.count ?? -1) == $0.classes.count && !$0.classes.isEmpty })
        let trainer = try Trainer(config(["epochs": .int(1), "data": .string(data.path), "name": .string("shapes")]))
        trainer.log = { _ in }
        let result = try trainer.train()
        XCTAssertNotNil(result.validation?.pose)
        XCTAssertEqual((try YOLO(result.run.bestWeights.path).model.detect as? Pose)?.keypointShape.count, 4)
    }
}
