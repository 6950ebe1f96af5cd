import Foundation
import Torch
import XCTest

@testable import YOLO

/// `yolo segment train` end to end on the built-in shapes with outline labels: the reference's columns, masks
/// validated every epoch, exact resume.
final class SegmentTrainingTests: TinyDatasetTestCase {
    func config(_ extra: [String: ConfigValue]) throws -> Config {
        let data = try BuiltInDataset.shapes(
            seed: 7, trainImages: 8, valImages: 4, imageSize: 96, root: directory.appendingPathComponent("shapes"),
            labels: .polygons, progress: false)
        var values: [String: ConfigValue] = [
            "task": .string("segment"), "data": .string(data.path), "model": .string("yolov8n-seg.yaml"),
            "imgsz": .int(64), "batch": .int(4), "nbs": .int(4), "workers": .int(2),
            "project": .string(directory.appendingPathComponent("runs").path), "plots": .bool(false),
            "optimizer": .string("SGD"), "lr0": .double(0.01), "warmup_epochs": .double(1), "close_mosaic": .int(1),
        ]
        for (k, v) in extra { values[k] = v }
        return try Config(values)
    }

    static let referenceColumns = [
        "epoch", "time", "train/box_loss", "train/seg_loss", "train/cls_loss", "train/dfl_loss", "train/sem_loss",
        "metrics/precision(B)", "metrics/recall(B)", "metrics/mAP50(B)", "metrics/mAP50-95(B)",
        "metrics/precision(M)", "metrics/recall(M)", "metrics/mAP50(M)", "metrics/mAP50-95(M)",
        "val/box_loss", "val/seg_loss", "val/cls_loss", "val/dfl_loss", "val/sem_loss", "lr/pg0", "lr/pg1", "lr/pg2",
    ]

    func testSegmentTrainingWritesTheReferenceColumnsAndResumesExactly() throws {
        let straight = try Trainer(config(["epochs": .int(3), "name": .string("straight")]))
        straight.log = { _ in }
        let full = try straight.train()
        XCTAssertEqual(full.run.url.deletingLastPathComponent().lastPathComponent, "runs")  // project given
        let table = try ResultsCSV(url: full.run.resultsCSV).read()
        XCTAssertEqual(table.columns, Self.referenceColumns)
        XCTAssertEqual(table.rows.count, 3)
        let seg = try XCTUnwrap(table.columns.firstIndex(of: "train/seg_loss"))
        XCTAssertTrue(table.rows.allSatisfy { $0[seg] > 0 && $0[seg].isFinite })
        XCTAssertNotNil(full.validation?.masks, "the final validation scores masks")
        let checkpoint = try YOLO(full.run.bestWeights.path)
        XCTAssertEqual(checkpoint.model.task, .segment)
        XCTAssertEqual(checkpoint.checkpointArguments["task"], .string("segment"))

        let firstPart = try Trainer(config(["epochs": .int(3), "name": .string("parts")]))
        firstPart.log = { _ in }
        firstPart.stopAfterEpochs = 1
        let part = try firstPart.train()
        XCTAssertTrue(part.interrupted)
        let resumed = try Trainer(Config(["resume": .string(part.run.lastWeights.path)]))
        resumed.log = { _ in }
        let rest = try resumed.train()
        XCTAssertEqual(rest.epochsCompleted, 3)
        try assertSameLastWeights(full, rest)
        let rowsA = try ResultsCSV(url: full.run.resultsCSV).read().rows.map { Array($0.dropFirst(2)) }
        let rowsB = try ResultsCSV(url: rest.run.resultsCSV).read().rows.map { Array($0.dropFirst(2)) }
        XCTAssertEqual(rowsA, rowsB)
    }

    func testBuiltInOutlinesAreValidPolygonLabels() throws {
        let data = try BuiltInDataset.shapes(
            seed: 7, trainImages: 8, valImages: 4, imageSize: 96, root: directory.appendingPathComponent("shapes"),
            labels: .polygons, progress: false)
        XCTAssertTrue(data.deletingLastPathComponent().lastPathComponent.hasSuffix("-seg"))
        let spec = try DatasetSpec(contentsOf: data.path)
        let scan = try LabelScan(imageFiles: try spec.imageFiles(split: "train"), spec: spec, options: LabelScan.Options())
        XCTAssertEqual(scan.labels.count, 8)
        XCTAssertTrue(scan.labels.allSatisfy { !$0.classes.isEmpty && $0.segments.count == $0.classes.count })
        XCTAssertTrue(scan.labels.flatMap(\.segments).allSatisfy { $0.count >= 3 })
    }
}
