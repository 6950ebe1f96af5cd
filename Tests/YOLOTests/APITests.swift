import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// The Swift API on the tiny built-in dataset: train (with callbacks and TensorBoard), val, predict, export.
final class APITests: TinyDatasetTestCase {
    /// Seconds-long settings: 64 px, two batches of 4 per epoch.
    var quick: [String: ConfigValue] {
        ["nbs": 4, "plots": false, "optimizer": "SGD", "warmup_epochs": 1, "close_mosaic": 1, "exist_ok": true]
    }

    func silentModel(_ path: String = "yolov8n.yaml") throws -> YOLO {
        let model = try YOLO(path)
        model.log = { _ in }
        return model
    }

    func testTrainCallsEveryCallbackThenValPredictAndExportUseTheBestWeights() throws {
        let model = try silentModel()
        var seen: [TrainingEvent: [Int]] = [:]
        var batchLosses: [[Double]] = [], epochEnd: [(losses: Int, rates: Int)] = [], fitMetrics: [[String]] = []
        var finalFlags: [Bool] = []
        for event in TrainingEvent.allCases {
            model.addCallback(event) { trainer in seen[event, default: []].append(trainer.epoch) }
        }
        model.addCallback(.onTrainBatchEnd) { trainer in batchLosses.append(trainer.progress.losses) }
        model.addCallback(.onTrainEpochEnd) { trainer in
            epochEnd.append((trainer.lossItems.count, trainer.learningRateItems.count))
        }
        model.addCallback(.onFitEpochEnd) { trainer in
            fitMetrics.append(trainer.metrics.map(\.0))
            finalFlags.append(trainer.progress.isFinalValidation)
        }

        let result = try model.train(
            data: try tinyDataset(), epochs: 2, imgsz: 64, batch: 4, workers: 2, project: directory.path, name: "api",
            overrides: quick)

        XCTAssertFalse(result.interrupted)
        XCTAssertEqual(result.epochsCompleted, 2)
        XCTAssertEqual(seen[.onTrainStart], [0])
        XCTAssertEqual(seen[.onTrainEpochStart], [0, 1])
        XCTAssertEqual(seen[.onTrainBatchEnd], [0, 0, 1, 1])
        XCTAssertEqual(seen[.onTrainEpochEnd], [0, 1])
        XCTAssertEqual(seen[.onModelSave], [0, 1])
        XCTAssertEqual(seen[.onFitEpochEnd], [0, 1, 2], "once per epoch, then the best weights' validation one past")
        XCTAssertEqual(seen[.onTrainEnd], [2])
        XCTAssertEqual(finalFlags, [false, false, true])
        XCTAssertTrue(batchLosses.allSatisfy { $0.count == 3 && $0.allSatisfy(\.isFinite) }, "\(batchLosses)")
        XCTAssertTrue(epochEnd.allSatisfy { $0 == (3, 3) })
        let epochMetrics = DetectionResults.keys + ["val/box_loss", "val/cls_loss", "val/dfl_loss"]
        XCTAssertEqual(fitMetrics, [epochMetrics, epochMetrics, DetectionResults.keys])

        // The object now holds best.pt, with the dataset's classes.
        XCTAssertEqual(model.path, result.run.bestWeights.path)
        XCTAssertEqual(model.names.count, BuiltInDataset.classNames.count)
        try assertTensorBoardMatchesResultsCSV(result)

        // val: the checkpoint's dataset by default, the same numbers as the trainer's last validation of best.pt.
        let metrics = try model.val(imgsz: 64, batch: 4, overrides: ["project": .string(directory.path), "plots": false])
        let trained = try XCTUnwrap(result.metrics)
        XCTAssertEqual(metrics.box.map, trained.map, accuracy: 1e-9)
        XCTAssertEqual(metrics.box.map50, trained.map50, accuracy: 1e-9)
        XCTAssertEqual(metrics.box.imageCount, 4)

        // predict: a path gives [Results], an image gives the same boxes.
        let images = try FileManager.default.contentsOfDirectory(
            atPath: URL(fileURLWithPath: try tinyDataset()).deletingLastPathComponent().appendingPathComponent("images/val").path)
        let imagePath = URL(fileURLWithPath: try tinyDataset()).deletingLastPathComponent()
            .appendingPathComponent("images/val").appendingPathComponent(try XCTUnwrap(images.sorted().first)).path
        let results = try model.predict(imagePath, conf: 0.001, imgsz: 64)
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(results[0].path, imagePath)
        let direct = try model.predict(try Image(contentsOf: imagePath), conf: 0.001, imgsz: 64)
        XCTAssertEqual(direct.boxes.xyxy, results[0].boxes.xyxy)

        // export: beside best.pt, as the reference names it.
        let onnx = try model.export(format: .onnx, imgsz: 64)
        XCTAssertEqual(onnx.path, result.run.weights.appendingPathComponent("best.onnx").path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: onnx.path))
    }

    /// The event file holds, per epoch, the same numbers as results.csv, at the reference's steps.
    func assertTensorBoardMatchesResultsCSV(_ result: TrainResult, file: StaticString = #filePath, line: UInt = #line) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: result.run.url.path)
            .filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1, "\(files)", file: file, line: line)
        let events = try TensorBoardEvents(contentsOf: result.run.url.appendingPathComponent(try XCTUnwrap(files.first)))
        XCTAssertEqual(events.fileVersion, "brain.Event:2", file: file, line: line)
        let table = try ResultsCSV(url: result.run.resultsCSV).read()
        for column in ResultsCSV.detectionColumns {
            let csv = try XCTUnwrap(table.column(column), column)
            let board = events.values(column)
            for (row, value) in csv.enumerated() {
                let logged = try XCTUnwrap(board[row + 1], "\(column) at step \(row + 1)", file: file, line: line)
                XCTAssertEqual(Double(logged), value, accuracy: Swift.max(abs(value) * 1e-5, 1e-9), column, file: file, line: line)
            }
        }
        // The best weights' metrics, one step past the last epoch.
        let final = try XCTUnwrap(result.metrics)
        XCTAssertEqual(Double(try XCTUnwrap(events.values("metrics/mAP50-95(B)")[table.rows.count + 1])), final.map, accuracy: 1e-6)
        XCTAssertNil(events.values("val/box_loss")[table.rows.count + 1])

        // TensorBoard itself sees every column of results.csv at each epoch's step (skips without its Python).
        guard let python = try? TensorBoardTests.tensorBoardPython(file: file, line: line) else { return }
        let read = try TensorBoardTests.readWithTensorBoard(result.run.url, python: python)
        for column in ResultsCSV.detectionColumns {
            let steps = (read[column] ?? []).map { Int($0[0]) }.filter { $0 <= table.rows.count }
            XCTAssertEqual(steps, Array(1...table.rows.count), column, file: file, line: line)
        }
    }

    func testACallbackStopsTrainingAfterTheCurrentBatchAndTheEpochIsStillSaved() throws {
        let model = try silentModel()
        var batches = 0, fitEpochs: [Int] = []
        model.addCallback(.onTrainBatchEnd) { trainer in
            batches += 1
            trainer.stop = true
        }
        model.addCallback(.onFitEpochEnd) { trainer in fitEpochs.append(trainer.epoch) }
        let result = try model.train(
            data: try tinyDataset(), epochs: 5, imgsz: 64, batch: 4, workers: 2, project: directory.path, name: "stop",
            overrides: quick.merging(["val": false]) { $1 })
        XCTAssertEqual(batches, 1)
        XCTAssertEqual(result.epochsCompleted, 1)
        XCTAssertFalse(result.interrupted)
        XCTAssertEqual(fitEpochs, [0], "validated although val=False (as the reference does when stopping); no best.pt validation with val=False")
        XCTAssertEqual(try ResultsCSV(url: result.run.resultsCSV).read().rows.count, 1)
        XCTAssertEqual(model.path, result.run.bestWeights.path)
    }

    func testAStopAtTheEndOfAFitEpochIsHonoured() throws {
        let model = try silentModel()
        model.addCallback(.onFitEpochEnd) { trainer in
            if trainer.epoch == 1 { trainer.stop = true }
        }
        var epochs: [Int] = []
        model.addCallback(.onTrainEpochEnd) { trainer in epochs.append(trainer.epoch) }
        let result = try model.train(
            data: try tinyDataset(), epochs: 6, imgsz: 64, batch: 4, workers: 2, project: directory.path, name: "fit",
            overrides: quick)
        XCTAssertEqual(epochs, [0, 1])
        XCTAssertEqual(result.epochsCompleted, 2)
        XCTAssertNotNil(result.metrics)
    }

    func testAThrowingCallbackEndsTrainingWithItsError() throws {
        struct Refused: Error {}
        let model = try silentModel()
        model.addCallback(.onTrainStart) { _ in throw Refused() }
        XCTAssertThrowsError(try model.train(
            data: try tinyDataset(), epochs: 1, imgsz: 64, batch: 4, workers: 2, project: directory.path, name: "throw",
            overrides: quick)) { XCTAssertTrue($0 is Refused, "\($0)") }
        model.clearCallbacks()
        XCTAssertEqual(model.callbacks.count(.onTrainStart), 0)
    }

    func testLabelledArgumentsAndOverridesFillOneConfig() throws {
        let config = try Config.api(
            "train", model: "yolov8s.yaml", ["epochs": .given(3), "imgsz": .given(Int?.none), "data": .given("coco8.yaml")],
            overrides: ["epochs": 9, "lr0": 0.02, "cos_lr": true, "optimizer": "AdamW", "imgsz": 320])
        XCTAssertEqual(config["mode"], "train")
        XCTAssertEqual(config["model"], "yolov8s.yaml")
        XCTAssertEqual(config.int("epochs"), 3, "a labelled argument wins over the same key in overrides")
        XCTAssertEqual(config.int("imgsz"), 320, "an argument not given leaves the override")
        XCTAssertEqual(config.double("lr0"), 0.02)
        XCTAssertTrue(config.bool("cos_lr"))
        XCTAssertEqual(config.string("optimizer"), "AdamW")
        XCTAssertThrowsError(try Config.api("train", model: "m.yaml", [:], overrides: ["epoch": 3])) {
            XCTAssertTrue("\($0)".contains("'epoch' is not a valid argument"), "\($0)")
        }
        XCTAssertThrowsError(try YOLO("yolov8n.yaml").train(overrides: ["epochs": "many"])) {
            XCTAssertTrue($0 is ConfigError, "\($0)")
        }
    }

    func testCfgFileIsReadUnderTheOverrides() throws {
        let cfg = directory.appendingPathComponent("cfg.yaml")
        try "epochs: 7\nlr0: 0.05\n".write(to: cfg, atomically: true, encoding: .utf8)
        let config = try Config.resolved(["cfg": .string(cfg.path), "lr0": 0.01], mode: "val")
        XCTAssertEqual(config.int("epochs"), 7)
        XCTAssertEqual(config.double("lr0"), 0.01)
        XCTAssertEqual(config.string("mode"), "val")
    }
}
