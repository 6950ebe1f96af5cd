import Foundation
import Torch
import XCTest

@testable import YOLO

/// `fraction=`, `rect=True` and `time=` training, each as the reference does it.
final class TrainingOptionsTests: XCTestCase {
    var folder: ScratchFolder!

    override func setUpWithError() throws { folder = try ScratchFolder() }
    override func tearDown() { folder.remove() }

    /// Two wide (2:1), one square and two tall (1:2) images, named so that sorted order is a, b, c, d, e.
    func mixedShapesDataset() throws -> String {
        let scenes: [(name: String, width: Int, height: Int, rects: [Scenes.Rect])] = [
            ("a", 64, 128, [Scenes.Rect(cls: 0, x1: 8, y1: 8, x2: 40, y2: 60)]),  // tall
            ("b", 128, 64, [Scenes.Rect(cls: 1, x1: 10, y1: 10, x2: 70, y2: 50)]),  // wide
            ("c", 96, 96, [Scenes.Rect(cls: 2, x1: 20, y1: 20, x2: 60, y2: 70)]),  // square
            ("d", 64, 128, [Scenes.Rect(cls: 0, x1: 16, y1: 30, x2: 50, y2: 100)]),  // tall
            ("e", 128, 64, [Scenes.Rect(cls: 1, x1: 40, y1: 4, x2: 120, y2: 40)]),  // wide
        ]
        return try Scenes.writeDataset(scenes, in: folder, classes: 3)
    }

    func dataset(fraction: ImageFraction = .all, rect: Bool = false, batch: Int = 2) throws -> TrainDataset {
        try TrainDataset(
            spec: DatasetSpec(contentsOf: mixedShapesDataset()), imgsz: 64, batchSize: batch, useLabelCache: false,
            fraction: fraction, rect: rect, log: DataLogging.silent)
    }

    // MARK: fraction

    func testFractionReadsTheArgumentAsTheReference() throws {
        XCTAssertEqual(try ImageFraction(.double(0.25)), .ratio(0.25))
        XCTAssertEqual(try ImageFraction(.int(1)), .ratio(1))  // 1 is "all", not one image
        XCTAssertEqual(try ImageFraction(.int(3)), .count(3))
        XCTAssertEqual(try ImageFraction(.list([.double(0.5), .double(1)])), .ratio(0.5))  // [train, val, test]
        XCTAssertEqual(try ImageFraction(nil), .all)
        XCTAssertThrowsError(try ImageFraction(.int(0)))
        XCTAssertThrowsError(try ImageFraction(.double(-0.5)))
        XCTAssertThrowsError(try ImageFraction(.string("half")))
    }

    func testFractionCountsRoundHalfToEvenAndKeepOne() {
        XCTAssertEqual(ImageFraction.ratio(0.5).count(of: 5), 2)  // round(2.5) = 2 in Python
        XCTAssertEqual(ImageFraction.ratio(0.3).count(of: 5), 2)  // round(1.5) = 2
        XCTAssertEqual(ImageFraction.ratio(0.01).count(of: 5), 1)  // at least one
        XCTAssertEqual(ImageFraction.ratio(1).count(of: 5), 5)
        XCTAssertEqual(ImageFraction.count(3).count(of: 5), 3)
        XCTAssertEqual(ImageFraction.count(9).count(of: 5), 5)
    }

    func testFractionTrainsOnTheFirstImagesInSortedOrder() throws {
        func names(_ d: TrainDataset) -> [String] {
            d.labels.map { URL(fileURLWithPath: $0.imageFile).deletingPathExtension().lastPathComponent }
        }
        XCTAssertEqual(names(try dataset(fraction: .ratio(0.5))), ["a", "b"])
        XCTAssertEqual(names(try dataset(fraction: .count(3))), ["a", "b", "c"])
        XCTAssertEqual(try dataset().count, 5)
    }

    // MARK: rect

    func testRectSortsByAspectAndMakesRectangularBatches() throws {
        let d = try dataset(rect: true, batch: 2)
        // Sorted by height/width: the wide (0.5), the square (1), the tall (2).
        XCTAssertEqual(d.labels.map { Double($0.shape.height) / Double($0.shape.width) }, [0.5, 0.5, 1, 2, 2])
        // As set_rectangle with pad 0: wide batch 32x64; mixed (square + tall) batch square; tall batch 64x32.
        XCTAssertEqual(d.batchShapes, [ImageShape(height: 32, width: 64), ImageShape(height: 64, width: 64),
                                       ImageShape(height: 64, width: 32)])
        XCTAssertEqual(d.hyp.mosaic, 0)
        XCTAssertEqual(d.hyp.mixup, 0)
        XCTAssertEqual(d.fixedBatchSize, 2)

        let log = LogLines()
        let loud = try TrainDataset(
            spec: d.spec, imgsz: 64, batchSize: 2, useLabelCache: false, rect: true, log: log.log)
        let loader = try DataLoader(dataset: loud, batchSize: 2, workers: 2, shuffle: true, seed: 0)
        XCTAssertFalse(loader.shuffle, "rect batches must keep their order")
        XCTAssertTrue(log.text.contains("incompatible with shuffle"))
        let batches = loader.epoch(0)
        var shapes: [[Int]] = []
        for batch in batches {
            shapes.append(batch.images.shape)
            // Every box lies inside its rectangular image.
            let t = batch.targetValues
            for row in stride(from: 0, to: t.count, by: 6) {
                XCTAssertTrue((0...1).contains(t[row + 2]) && (0...1).contains(t[row + 3]), "box centre \(t[row + 2]), \(t[row + 3])")
            }
        }
        XCTAssertNil(batches.error)
        XCTAssertEqual(shapes, [[2, 3, 32, 64], [2, 3, 64, 64], [1, 3, 64, 32]])
    }

    func testRectWithOneShapeStillShuffles() throws {
        let scenes: [(name: String, width: Int, height: Int, rects: [Scenes.Rect])] = (0..<4).map {
            ("w\($0)", 128, 64, [Scenes.Rect(cls: 0, x1: 8, y1: 8, x2: 40, y2: 40)])
        }
        let yaml = try Scenes.writeDataset(scenes, in: folder, classes: 1)
        let d = try TrainDataset(
            spec: DatasetSpec(contentsOf: yaml), imgsz: 64, batchSize: 2, useLabelCache: false, rect: true,
            log: DataLogging.silent)
        XCTAssertNil(d.fixedBatchSize)  // the reference only turns shuffle off when the shapes differ
        XCTAssertTrue(try DataLoader(dataset: d, batchSize: 2, workers: 0, shuffle: true).shuffle)
        XCTAssertEqual(try DataLoader(dataset: d, batchSize: 2, workers: 0).epoch(0).next()?.images.shape, [2, 3, 32, 64])
    }

    // MARK: the trainer

    func trainConfig(_ extra: [String: ConfigValue]) throws -> Config {
        var values: [String: ConfigValue] = [
            "data": .string(try mixedShapesDataset()), "model": .string("yolov8n.yaml"), "imgsz": .int(64),
            "batch": .int(2), "nbs": .int(2), "workers": .int(1), "project": .string(folder.file("runs")),
            "name": .string("t"), "plots": .bool(false), "val": .bool(false), "warmup_epochs": .double(0),
        ]
        for (k, v) in extra { values[k] = v }
        return try Config(values)
    }

    func testRectAndFractionTrain() throws {
        let trainer = try Trainer(trainConfig(["rect": .bool(true), "fraction": .double(0.8), "epochs": .int(1)]))
        var lines: [String] = []
        trainer.log = { lines.append($0) }
        let result = try trainer.train()
        XCTAssertEqual(result.epochsCompleted, 1)
        XCTAssertTrue(lines.contains { $0.contains("Using 4 train") }, lines.joined(separator: "\n"))
    }

    /// `freeze=2`: layers 0 and 1 keep their weights bit for bit (their batch norms still track running statistics,
    /// as the reference's, which only turns gradients off), and the layers after them learn.
    func testFreezeKeepsTheFrozenLayersWeights() throws {
        let trainer = try Trainer(trainConfig(["freeze": .int(2), "epochs": .int(1)]))
        trainer.log = { _ in }
        var before: [String: Tensor] = [:]
        var meanBefore: Tensor?
        trainer.callbacks.add(.onTrainStart) { trainer in
            for (name, p) in trainer.model!.namedParameters() { before[name] = try p.detach().clone() }
            meanBefore = try trainer.model!.stateDict().first { $0.0 == "model.0.bn.running_mean" }!.1.clone()
        }
        _ = try trainer.train()
        let after = Dictionary(uniqueKeysWithValues: try XCTUnwrap(trainer.model).namedParameters())
        let frozen = before.keys.filter { $0.hasPrefix("model.0.") || $0.hasPrefix("model.1.") }
        XCTAssertEqual(frozen.count, 6, "\(frozen)")  // conv.weight, bn.weight, bn.bias of each
        for name in frozen { XCTAssertTrue(try before[name]!.equal(XCTUnwrap(after[name])), "\(name) changed") }
        XCTAssertFalse(try before["model.2.cv1.conv.weight"]!.equal(XCTUnwrap(after["model.2.cv1.conv.weight"])))
        let mean = try XCTUnwrap(trainer.model).stateDict().first { $0.0 == "model.0.bn.running_mean" }!.1
        XCTAssertFalse(try XCTUnwrap(meanBefore).equal(mean), "frozen batch norms still track statistics")
    }

    func testTimeStopsTrainingAtTheFirstStepPastTheBudget() throws {
        // 0.36 ms: spent by the first optimizer step, so the first epoch ends there, is validated and saved.
        let trainer = try Trainer(trainConfig(["epochs": .int(50), "time": .double(1e-7)]))
        var lines: [String] = []
        trainer.log = { lines.append($0) }
        let result = try trainer.train()
        XCTAssertFalse(result.interrupted)
        XCTAssertEqual(result.epochsCompleted, 1)
        XCTAssertEqual(try ResultsCSV(url: result.run.resultsCSV).read().rows.count, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: result.run.lastWeights.path))
        XCTAssertTrue(lines.contains { $0.contains("Starting training for 1e-07 hours") }, lines.joined(separator: "\n"))
    }

    func testTimeReestimatesEpochsFromTheMeanEpoch() throws {
        let start = Date(timeIntervalSinceReferenceDate: 0)
        var limit = try XCTUnwrap(TrainingTimeLimit(hours: 0.05, start: start))  // 180 s
        limit.clock = { start.addingTimeInterval(30) }
        XCTAssertEqual(limit.epochs(afterCompleting: 1), 6)
        XCTAssertEqual(limit.epochs(afterCompleting: 3), 18)
        XCTAssertFalse(limit.exceeded)
        limit.clock = { start.addingTimeInterval(181) }
        XCTAssertTrue(limit.exceeded)
        XCTAssertEqual(limit.epochs(afterCompleting: 2), 2)
        XCTAssertNil(TrainingTimeLimit(hours: 0))
        XCTAssertNil(TrainingTimeLimit(hours: nil))
    }
}
