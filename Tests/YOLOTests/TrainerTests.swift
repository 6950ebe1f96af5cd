import Foundation
import Torch
import XCTest

@testable import YOLO

/// Training end to end on tiny data: it learns, it writes the run, it resumes exactly, it stops cleanly.
final class TrainerTests: TinyDatasetTestCase {
    func config(_ extra: [String: ConfigValue]) throws -> Config {
        var values: [String: ConfigValue] = [
            "data": .string(try tinyDataset()), "model": .string("yolov8n.yaml"), "imgsz": .int(64), "batch": .int(4),
            "nbs": .int(4), "workers": .int(2), "project": .string(directory.appendingPathComponent("runs").path),
            "name": .string("t"), "plots": .bool(false), "optimizer": .string("SGD"), "lr0": .double(0.01),
            "warmup_epochs": .double(1), "close_mosaic": .int(1),
        ]
        for (k, v) in extra { values[k] = v }
        return try Config(values)
    }

    func testThirtyStepsOnOneBatchHalveTheLoss() throws {
        let (images, shape) = try Fixtures.floats("loss_images")
        let (targets, targetShape) = try Fixtures.floats("loss_targets")
        let x = try Tensor(images, shape: shape), y = try Tensor(targets, shape: targetShape)
        Runtime.seed(0)
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml"))
        model.train()
        let loss = DetectionLoss(model: model)
        let optimizer = try OptimizerChoice(name: "AdamW", lr: 0.002, momentum: 0.9, warmupBiasLR: nil)
            .make(ParameterGroups(model), weightDecay: 0)
        var first = 0.0, last = 0.0
        for step in 0..<30 {
            try optimizer.zeroGrad()
            let result = try loss(model.forwardRaw(x), targets: y)
            try result.total.backward()
            try clipGradNorm(model.parameters().filter(\.requiresGrad), maxNorm: 10)
            try optimizer.step()
            if step == 0 { first = try result.total.item() }
            last = try result.total.item()
        }
        print("one-batch overfit: total loss \(first) -> \(last)")
        XCTAssertLessThan(last, first / 2)
    }

    func testTrainingWritesTheRunAndResumesExactly() throws {
        // Four epochs straight...
        let straight = try Trainer(config(["epochs": .int(4), "name": .string("straight")]))
        straight.log = { _ in }
        let full = try straight.train()
        XCTAssertEqual(full.epochsCompleted, 4)
        for file in ["args.yaml", "results.csv", "weights/last.pt", "weights/best.pt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: full.run.url.appendingPathComponent(file).path), file)
        }
        let table = try ResultsCSV(url: full.run.resultsCSV).read()
        XCTAssertEqual(table.rows.count, 4)
        XCTAssertEqual(table.columns, ResultsCSV.detectionHeader)

        // ...and two, then two more resumed from last.pt.
        let firstHalf = try Trainer(config(["epochs": .int(4), "name": .string("halves")]))
        firstHalf.log = { _ in }
        firstHalf.stopAfterEpochs = 2  // as a Ctrl-C during epoch 3 would, once epoch 2 is saved
        let half = try firstHalf.train()
        XCTAssertTrue(half.interrupted)
        XCTAssertEqual(half.epochsCompleted, 2)
        let resumed = try Trainer(Config(["resume": .string(half.run.lastWeights.path)]))
        resumed.log = { _ in }
        let rest = try resumed.train()
        XCTAssertEqual(rest.epochsCompleted, 4)
        XCTAssertEqual(rest.run.url.standardizedFileURL.path, half.run.url.standardizedFileURL.path)

        try assertSameLastWeights(full, rest)
        let rowsA = try ResultsCSV(url: full.run.resultsCSV).read().rows.map { Array($0.dropFirst(2)) }
        let rowsB = try ResultsCSV(url: rest.run.resultsCSV).read().rows.map { Array($0.dropFirst(2)) }
        XCTAssertEqual(rowsA, rowsB)
    }
}
