import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// The loader: the same batches for any number of workers, shuffling per epoch, the reference's batch layout,
/// rectangular validation batches, bounded memory, broken files skipped, and the batch plot.
final class DataLoaderTests: XCTestCase {
    var folder: ScratchFolder!
    var yaml: String!

    override func setUpWithError() throws {
        folder = try ScratchFolder(name)
        var rng = SampleRNG(23)
        let scenes = (0..<10).map { i -> (name: String, width: Int, height: Int, rects: [Scenes.Rect]) in
            let (w, h) = (rng.int(in: 40...80), rng.int(in: 40...80))
            return (
                String(format: "img%02d", i), w, h,
                Scenes.randomRects(width: w, height: h, classes: [i % 8, (i + 3) % 8], rng: &rng)
            )
        }
        yaml = try Scenes.writeDataset(scenes, in: folder)
    }

    override func tearDown() { folder.remove() }

    func train(
        _ hyp: AugmentConfig = AugmentConfig(), cache: ImageCaching = .none, log: @escaping DataLog = DataLogging.silent
    )
        throws -> TrainDataset
    {
        try TrainDataset(
            spec: try DatasetSpec(contentsOf: yaml), imgsz: 64, hyp: hyp, batchSize: 4, cache: cache, log: log)
    }

    func testBatchesAreTheSameForAnyNumberOfWorkers() throws {
        let dataset = try train()
        func batches(workers: Int, epoch: Int) throws -> [([UInt8], [Float], [String])] {
            let loader = try DataLoader(dataset: dataset, batchSize: 4, workers: workers, shuffle: true, seed: 42)
            return try loader.epoch(epoch).map { (try $0.images.bytes(), $0.targetValues, $0.paths) }
        }
        for epoch in 0..<2 {
            let reference = try batches(workers: 0, epoch: epoch)
            XCTAssertEqual(reference.count, 3)  // 10 images in batches of 4
            XCTAssertEqual(reference.map(\.2.count), [4, 4, 2])
            for workers in [1, 2] {
                let other = try batches(workers: workers, epoch: epoch)
                XCTAssertEqual(other.count, reference.count)
                for (a, b) in zip(reference, other) {
                    XCTAssertEqual(a.2, b.2, "epoch \(epoch), \(workers) workers: order")
                    XCTAssertEqual(a.1, b.1, "epoch \(epoch), \(workers) workers: targets")
                    XCTAssertTrue(a.0 == b.0, "epoch \(epoch), \(workers) workers: pixels")
                }
            }
        }
    }

    func testEachEpochIsAnotherPermutationAndTheSeedChangesIt() throws {
        let dataset = try train()
        let loader = try DataLoader(dataset: dataset, batchSize: 4, workers: 2, seed: 0)
        let orders = (0..<3).map { loader.order(epoch: $0) }
        for order in orders { XCTAssertEqual(order.sorted(), Array(0..<10)) }
        XCTAssertNotEqual(orders[0], orders[1])
        XCTAssertNotEqual(orders[1], orders[2])
        XCTAssertNotEqual(try DataLoader(dataset: dataset, batchSize: 4, seed: 1).order(epoch: 0), orders[0])
        XCTAssertEqual(try DataLoader(dataset: dataset, batchSize: 4, shuffle: false).order(epoch: 5), Array(0..<10))
        let paths = loader.epoch(1).flatMap(\.paths)
        XCTAssertEqual(paths, orders[1].map { dataset.labels[$0].imageFile })
    }

    func testBatchesHaveTheReferenceLayout() throws {
        let loader = try DataLoader(dataset: try train(), batchSize: 4, workers: 2, seed: 3)
        let batches = loader.epoch(0)
        var seen = 0
        for batch in batches {
            XCTAssertEqual(batch.images.shape, [batch.count, 3, 64, 64])
            XCTAssertEqual(batch.images.dtype, .uint8)
            XCTAssertEqual(batch.targets.shape, [batch.targetValues.count / 6, 6])
            XCTAssertEqual(batch.targets.dtype, .float32)
            for row in stride(from: 0, to: batch.targetValues.count, by: 6) {
                let v = Array(batch.targetValues[row..<row + 6])
                XCTAssertTrue((0..<batch.count).contains(Int(v[0])) && v[0] == v[0].rounded(), "batch index \(v)")
                XCTAssertTrue((0..<8).contains(Int(v[1])), "class \(v)")
                XCTAssertTrue(v[2...5].allSatisfy { (0...1).contains($0) }, "normalized cx cy w h \(v)")
                XCTAssertTrue(v[2] - v[4] / 2 >= -1e-5 && v[2] + v[4] / 2 <= 1 + 1e-5, "inside the image \(v)")
            }
            XCTAssertEqual(batch.originalShapes.count, batch.count)
            let x = try batch.normalizedImages()
            XCTAssertEqual(x.dtype, .float32)
            XCTAssertEqual(try x.toArray(Float.self), try batch.images.toArray(UInt8.self).map { Float($0) / 255 })
            seen += batch.count
        }
        XCTAssertNil(batches.error)
        XCTAssertEqual(seen, 10)
        // The images are RGB: a sample written by the loader is its BGR image's channels reversed.
        let dataset = try train()
        let single = try DataLoader(dataset: dataset, batchSize: 1, workers: 0, shuffle: false, seed: 0)
        let batch = try XCTUnwrap(single.epoch(0).next())
        let (sample, mirrored) = try dataset.batchSample(
            SampleRequest(index: 0, recent: single.dataset.recentWindow > 0 ? [0] : []))
        let image = mirrored ? try sample.image.flipped(horizontal: true) : sample.image
        let planes = try batch.images.toArray(UInt8.self)
        let bgr = image.pixel(x: 10, y: 20)
        XCTAssertEqual(
            [planes[20 * 64 + 10], planes[4096 + 20 * 64 + 10], planes[8192 + 20 * 64 + 10]], [bgr[2], bgr[1], bgr[0]])
    }

    func testValidationBatchesAreTheReferenceRectanglesAndMapBackThroughRatioPad() throws {
        // Aspect ratios 0.5, 1, 2, 0.5: sorted A, D | B, C; the reference's shapes at imgsz 64, stride 32, pad 0.5:
        // batch 0 max ratio 0.5 -> ceil([0.5, 1] * 2 + 0.5) * 32 = (64, 96); batch 1 -> (96, 96).
        let val = try ScratchFolder("val-\(name)")
        defer { val.remove() }
        let rect = Scenes.Rect(cls: 1, x1: 10, y1: 10, x2: 30, y2: 30)
        try Scenes.writeDataset(
            [("a", 80, 40, [rect]), ("b", 60, 60, [rect]), ("c", 40, 80, [rect]), ("d", 100, 50, [rect])], in: val,
            split: "val")
        try val.write("path: .\ntrain: images/val\nval: images/val\nnc: 8\n", to: "data.yaml")
        let dataset = try ValDataset(
            spec: try DatasetSpec(contentsOf: val.file("data.yaml")), imgsz: 64, batchSize: 2, log: DataLogging.silent)
        XCTAssertEqual(dataset.batchShapes, [ImageShape(height: 64, width: 96), ImageShape(height: 96, width: 96)])
        XCTAssertEqual(
            dataset.labels.map { URL(fileURLWithPath: $0.imageFile).lastPathComponent },
            ["a.png", "d.png", "b.png", "c.png"])
        let lines = LogLines()
        let loader = try DataLoader(dataset: dataset, batchSize: 2, workers: 2, shuffle: true)
        XCTAssertFalse(loader.shuffle, "rectangular batches keep their order")
        _ = lines
        let batches = Array(loader.epoch(0))
        XCTAssertEqual(batches.map(\.images.shape), [[2, 3, 64, 96], [2, 3, 96, 96]])
        // a.png 80x40 -> loaded 64x32 -> letterboxed into 96x64 without enlarging: 16 px of grey each side.
        let a = batches[0]
        XCTAssertEqual(a.originalShapes[0], ImageShape(height: 40, width: 80))
        XCTAssertEqual(a.resizedShapes[0], ImageShape(height: 64, width: 96))
        XCTAssertEqual(a.ratioPads[0], RatioPad(ratioHeight: 0.8, ratioWidth: 0.8, padLeft: 16, padTop: 16))
        // The target maps back to the rectangle in the file through ratio_pad.
        for batch in batches {
            for row in stride(from: 0, to: batch.targetValues.count, by: 6) {
                let v = batch.targetValues[row..<row + 6].map(Double.init)
                let i = Int(v[0])
                let rp = batch.ratioPads[i]
                let s = batch.shape
                let x1 = ((v[2] - v[4] / 2) * Double(s.width) - rp.padLeft) / rp.ratioWidth
                let y2 = ((v[3] + v[5] / 2) * Double(s.height) - rp.padTop) / rp.ratioHeight
                XCTAssertEqual(x1, 10, accuracy: 1e-3)
                XCTAssertEqual(y2, 30, accuracy: 1e-3)
            }
        }
    }

    func testMemoryStaysBoundedAndAnAbandonedEpochStopsItsWorkers() throws {
        let dataset = try train()
        let loader = try DataLoader(dataset: dataset, batchSize: 2, workers: 2, seed: 0, prefetch: 2)
        for epoch in 0..<3 {
            var taken = 0
            for _ in loader.epoch(epoch) {
                Thread.sleep(forTimeInterval: 0.05)  // a slow consumer: the workers must wait, not pile up batches
                XCTAssertLessThanOrEqual(BatchAssembly.live, 2 + 2, "made or waiting beyond the one held")
                taken += 1
                if epoch == 1, taken == 2 { break }  // abandon the epoch half way
            }
        }
        let deadline = Date().addingTimeInterval(5)
        while BatchAssembly.live > 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(BatchAssembly.live, 0, "every batch buffer is freed once the epochs are done")
    }

    func testABrokenImageAtTrainingTimeIsSkippedWithAWarning() throws {
        let lines = LogLines()
        let dataset = try train(log: lines.log)
        try "gone".write(toFile: dataset.labels[3].imageFile, atomically: true, encoding: .utf8)
        let loader = try DataLoader(dataset: dataset, batchSize: 4, workers: 2, seed: 0)
        let epoch = loader.epoch(0)
        XCTAssertEqual(epoch.reduce(0) { $0 + $1.count }, 10)
        XCTAssertNil(epoch.error)
        XCTAssertTrue(lines.text.contains("skipping \(dataset.labels[3].imageFile)"), lines.text)
    }

    func testSingleClassAndClassFilterAsTheReference() throws {
        let spec = try DatasetSpec(contentsOf: yaml)
        let single = try TrainDataset(spec: spec, imgsz: 64, singleClass: true, log: DataLogging.silent)
        XCTAssertEqual(Set(single.labels.flatMap(\.classes)), [0])
        XCTAssertEqual(single.labels.reduce(0) { $0 + $1.count }, 20)
        let only = try TrainDataset(spec: spec, imgsz: 64, classes: [1, 4], log: DataLogging.silent)
        XCTAssertEqual(Set(only.labels.flatMap(\.classes)), [1, 4])
        XCTAssertEqual(only.count, 10, "images without those classes stay, as backgrounds")
        XCTAssertTrue(only.labels.allSatisfy { $0.boxes.count == $0.classes.count })
    }

    func testCacheRAMKeepsEveryImage() throws {
        let dataset = try train(cache: .ram)
        XCTAssertEqual(dataset.recentWindow, 0, "with every image at hand, mosaics draw from the whole dataset")
        for label in dataset.labels { try FileManager.default.removeItem(atPath: label.imageFile) }
        let loader = try DataLoader(dataset: dataset, batchSize: 5, workers: 2, seed: 0)
        let epoch = loader.epoch(0)
        XCTAssertEqual(epoch.reduce(0) { $0 + $1.count }, 10)
        XCTAssertNil(epoch.error)
    }

    func testTheBatchPlotDrawsAGridWithBoxesAndWritesTrainBatch0() throws {
        var hyp = AugmentConfig()
        (hyp.mosaic, hyp.hsvH, hyp.hsvS, hyp.hsvV, hyp.fliplr, hyp.translate, hyp.scale) = (0, 0, 0, 0, 0, 0, 0)
        let dataset = try train(hyp)
        let loader = try DataLoader(dataset: dataset, batchSize: 4, workers: 0, shuffle: false)
        let batch = try XCTUnwrap(loader.epoch(0).next())
        let grid = try BatchPlot.render(batch, names: dataset.names)
        XCTAssertEqual([grid.width, grid.height], [128, 128])  // 2x2 images of 64
        // The first object's box outline is drawn in its class colour at its left edge.
        let v = batch.targetValues
        let (cls, x1, cy) = (Int(v[1]), Int((v[2] - v[4] / 2) * 64), Int(v[3] * 64))
        XCTAssertEqual(v[0], 0)
        let drawn = grid.pixel(x: x1, y: cy)
        let colour = BatchPlot.color(forClass: cls)
        XCTAssertEqual(drawn, [colour.b, colour.g, colour.r])
        let path = folder.file("run/train_batch0.jpg")
        try folder.mkdir("run")
        try BatchPlot.save(batch, names: dataset.names, to: path)
        let back = try Image(contentsOf: path)
        XCTAssertEqual([back.width, back.height], [128, 128])
    }
}
