import Foundation
import Torch
import XCTest

@testable import YOLO

/// The optimizer choice, lr/momentum warmup, schedule and EMA against the reference's formulas and its sample run.
final class TrainingRecipeTests: XCTestCase {
    func testAutoOptimizerFollowsTheReferenceRule() {
        // The reference's sample run (coco8, 80 classes, 3 epochs of 1 batch) printed AdamW(lr=0.000119, momentum=0.9).
        let short = OptimizerChoice.choose(name: "auto", lr: 0.01, momentum: 0.937, classes: 80, iterations: 3)
        XCTAssertEqual(short, OptimizerChoice(name: "AdamW", lr: 0.000119, momentum: 0.9, warmupBiasLR: 0))
        XCTAssertEqual(OptimizerChoice.choose(name: "auto", lr: 0.01, momentum: 0.937, classes: 3, iterations: 100).lr, 0.001429)
        XCTAssertEqual(OptimizerChoice.choose(name: "auto", lr: 0.01, momentum: 0.937, classes: 3, iterations: 20_000).name, "SGD")
        XCTAssertEqual(OptimizerChoice.choose(name: "SGD", lr: 0.02, momentum: 0.9, classes: 3, iterations: 1).lr, 0.02)
    }

    func testParameterGroupsMatchTheReferenceCounts() throws {
        // The sample run: 57 weight(decay=0.0), 64 weight(decay=0.0005), 63 bias(decay=0.0).
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml"))
        let groups = ParameterGroups(model)
        XCTAssertEqual(groups.normWeights.count, 57)
        XCTAssertEqual(groups.decayed.count, 64)
        XCTAssertEqual(groups.biases.count, 63)
        let optimizer = try OptimizerChoice(name: "SGD", lr: 0.01, momentum: 0.937, warmupBiasLR: nil).make(groups, weightDecay: 5e-4)
        XCTAssertEqual(try optimizer.get(.weightDecay, group: 0), 5e-4)
        XCTAssertEqual(try optimizer.get(.weightDecay, group: 1), 0)
        XCTAssertEqual(try optimizer.get(.nesterov, group: 2), 1)
    }

    func testScheduleFactorsAndWarmupMatchTheReference() throws {
        var config = Config()
        try config.set("warmup_bias_lr", .double(0))
        let schedule = TrainingSchedule(config: config, epochs: 3, batchesPerEpoch: 1, accumulate: 16)
        XCTAssertEqual(schedule.warmupIterations, 2)  // min(3, epochs − 1) epochs of 1 batch
        XCTAssertEqual(schedule.factor(epoch: 1), (1 - 1.0 / 3) * 0.99 + 0.01, accuracy: 1e-15)
        // The sample run's results.csv: lr/pg0 0 in epoch 1 and 3.9865e-05 in epoch 2.
        XCTAssertEqual(schedule.warmupLR(0, epoch: 0, initialLR: 0.000119, isBias: false), 0)
        XCTAssertEqual(schedule.warmupLR(1, epoch: 1, initialLR: 0.000119, isBias: false), 3.9865e-05, accuracy: 1e-12)
        XCTAssertEqual(schedule.warmupMomentum(1), 0.8 + (0.937 - 0.8) / 2, accuracy: 1e-15)
        XCTAssertEqual(schedule.accumulation(0), 1)
        XCTAssertEqual(schedule.accumulation(1), 8)  // round(8.5) to even
        XCTAssertEqual(schedule.accumulation(5), 16)

        try config.set("cos_lr", .bool(true))
        let cosine = TrainingSchedule(config: config, epochs: 10, batchesPerEpoch: 5, accumulate: 4)
        XCTAssertEqual(cosine.factor(epoch: 0), 1, accuracy: 1e-15)
        XCTAssertEqual(cosine.factor(epoch: 5), (1 - cos(Double.pi / 2)) / 2 * (0.01 - 1) + 1, accuracy: 1e-15)
        XCTAssertEqual(cosine.factor(epoch: 10), 0.01, accuracy: 1e-12)
        let biasWarmup = TrainingSchedule(config: Config(), epochs: 10, batchesPerEpoch: 5, accumulate: 4)
        XCTAssertEqual(biasWarmup.warmupLR(0, epoch: 0, initialLR: 0.01, isBias: true), 0.1)
        XCTAssertEqual(biasWarmup.warmupLR(15, epoch: 3, initialLR: 0.01, isBias: true), 0.01 * biasWarmup.factor(epoch: 3), accuracy: 1e-15)
    }

    func testEMAFollowsTheReferenceDecayRamp() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 2))
        let ema = try ModelEMA(model)
        XCTAssertEqual(ema.decay(1), 0.9999 * (1 - exp(-1.0 / 2000)), accuracy: 1e-15)
        XCTAssertEqual(ema.decay(100_000), 0.9999, accuracy: 1e-9)
        let name = "model.0.conv.weight"
        let before = try XCTUnwrap(ema.model.stateDict().first { $0.0 == name }?.1).clone()
        let weight = try XCTUnwrap(model.stateDict().first { $0.0 == name }?.1)
        try withNoGrad { try weight.add_(1) }
        try ema.update(from: model)
        let d = ema.decay(1)
        let after = try XCTUnwrap(ema.model.stateDict().first { $0.0 == name }?.1)
        let expected = try before * d + weight * (1 - d)
        XCTAssertLessThan(try (after - expected).abs().amax().item(), 1e-6)
        XCTAssertEqual(ema.updates, 1)
    }

    func testConfigRejectsUnknownKeysAndBadTypes() throws {
        let parsed = try Config.parse(words: ["epochs=3", "lr0=0.02", "cos_lr=True", "name=exp", "classes=[0, 2]"])
        let config = try Config(parsed)
        XCTAssertEqual(config.int("epochs"), 3)
        XCTAssertEqual(config.double("lr0"), 0.02)
        XCTAssertTrue(config.bool("cos_lr"))
        XCTAssertEqual(config.string("name"), "exp")
        XCTAssertThrowsError(try Config(Config.parse(words: ["epoch=3"]))) { XCTAssertTrue("\($0)".contains("'epoch'") && "\($0)".contains("epochs"), "\($0)") }
        XCTAssertThrowsError(try Config(Config.parse(words: ["epochs=many"]))) { XCTAssertTrue("\($0)".contains("epochs=many"), "\($0)") }
        XCTAssertThrowsError(try Config.parse(words: ["epochs"])) { XCTAssertTrue("\($0)".contains("try 'epochs=100'"), "\($0)") }
        XCTAssertThrowsError(try Config.parse(words: ["nonsense"])) { XCTAssertTrue("\($0)".contains("'nonsense'"), "\($0)") }
        // A bare boolean argument is set to true, as the reference's `yolo train resume`.
        XCTAssertEqual(try Config.parse(words: ["resume", "save_txt", "epochs=3"]),
                       ["resume": .bool(true), "save_txt": .bool(true), "epochs": .int(3)])
    }
}
