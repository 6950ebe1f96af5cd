import Foundation
import Vision
import XCTest

@testable import YOLO

/// The label scan: the reference's counts and messages for good and bad input, and the cache beside the labels.
final class DataLabelTests: XCTestCase {
    var folder: ScratchFolder!

    override func setUpWithError() throws { folder = try ScratchFolder(name) }
    override func tearDown() { folder.remove() }

    func testCoco8GivesTheCountsTheReferencePrints() throws {
        // The reference (ultralytics 8.4.190) prints for coco8:
        //   train: Scanning .../coco8/labels/train... 4 images, 0 backgrounds, 0 corrupt   (13 objects)
        //   val: Scanning .../coco8/labels/val... 4 images, 0 backgrounds, 0 corrupt       (17 objects)
        let spec = try DatasetSpec(contentsOf: try Scenes.copyCoco8(to: folder))
        let lines = LogLines()
        let train = try TrainDataset(spec: spec, imgsz: 64, log: lines.log)
        XCTAssertEqual(train.scan.summary, "4 images, 0 backgrounds, 0 corrupt")
        XCTAssertEqual(train.labels.reduce(0) { $0 + $1.count }, 13)
        XCTAssertTrue(
            lines.text.contains(
                "train: Scanning \(folder.file("coco8/labels/train"))... 4 images, 0 backgrounds, 0 corrupt"),
            lines.text)
        let val = try ValDataset(spec: spec, imgsz: 64, log: lines.log)
        XCTAssertEqual(val.scan.summary, "4 images, 0 backgrounds, 0 corrupt")
        XCTAssertEqual(val.labels.reduce(0) { $0 + $1.count }, 17)
        // The first training image as the reference reads it: 480x640, 8 objects, classes 45 45 50 45 49 49 49 49.
        let first = try XCTUnwrap(train.labels.first { $0.imageFile.hasSuffix("000000000009.jpg") })
        XCTAssertEqual(first.shape, ImageShape(height: 480, width: 640))
        XCTAssertEqual(first.classes, [45, 45, 50, 45, 49, 49, 49, 49])
        XCTAssertEqual(first.boxes[0].x, 0.479492, accuracy: 1e-6)
    }

    func testPolygonLabelsAreKeptAsSegmentsWithTheirBoxes() throws {
        let spec = try DatasetSpec(contentsOf: try Scenes.copyCoco8(to: folder, dataset: "coco8-seg"))
        let train = try TrainDataset(spec: spec, imgsz: 64, log: DataLogging.silent)
        XCTAssertEqual(train.scan.summary, "4 images, 0 backgrounds, 0 corrupt")
        for label in train.labels {
            XCTAssertEqual(label.segments.count, label.count)
            for (segment, box) in zip(label.segments, label.boxes) {  // the box is the polygon's extent
                let xs = segment.map(\.x)
                let ys = segment.map(\.y)
                XCTAssertEqual(box.z, xs.max()! - xs.min()!, accuracy: 1e-6)
                XCTAssertEqual(box.y, (ys.max()! + ys.min()!) / 2, accuracy: 1e-6)
            }
        }
        XCTAssertEqual(train.labels.reduce(0) { $0 + $1.count }, 13)
    }

    func testPoseLabelsAreCutToTheirBoxForDetection() throws {
        let spec = try DatasetSpec(contentsOf: try Scenes.copyCoco8(to: folder, dataset: "coco8-pose"))
        let train = try TrainDataset(spec: spec, imgsz: 64, log: DataLogging.silent)
        XCTAssertEqual(train.scan.corrupt, 0)
        XCTAssertTrue(train.labels.allSatisfy { $0.segments.isEmpty && $0.keypoints == nil && !$0.boxes.isEmpty })
    }

    /// The reference's verdicts on the same bad files, run on ultralytics 8.4.190:
    ///   train: Scanning .../labels/train... 11 images, 2 backgrounds, 8 corrupt
    /// with "ignoring corrupt image/label: ..." for each of the 8 and "1 duplicate labels removed".
    func testBadInputGivesTheReferenceVerdictsWithoutCrashing() throws {
        let coco = URL(fileURLWithPath: try Fixtures.shared("datasets/coco8/images/train/000000000009.jpg"))
        let jpeg = try Data(contentsOf: coco)
        try folder.mkdir("images/train")
        try folder.mkdir("labels/train")
        func image(_ name: String, _ data: Data, label: String?) throws {
            try data.write(to: URL(fileURLWithPath: folder.file("images/train/\(name).jpg")))
            if let label { try folder.write(label, to: "labels/train/\(name).txt") }
        }
        let good = "45 0.479492 0.688771 0.955609 0.5955\n"
        try image("good", jpeg, label: good)
        try image("trunc", jpeg.prefix(20_000), label: good)
        try image("png", Data(try Image(data: [UInt8](jpeg)).encoded(as: ".png")), label: good)
        try image("four", jpeg, label: "0 0.5 0.5 0.2\n")
        try image("bigcls", jpeg, label: "80 0.5 0.5 0.2 0.2\n")
        try image("empty", jpeg, label: "")
        try image("nolabel", jpeg, label: nil)
        try image("dup", jpeg, label: "1 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n2 0.3 0.3 0.1 0.1\n")
        try image("oob", jpeg, label: "1 0.5 0.5 1.2 0.2\n")
        try image("neg", jpeg, label: "1 -0.005 0.5 0.2 0.2\n")
        try image("neg2", jpeg, label: "1 -0.05 0.5 0.2 0.2\n")
        try image("frac", jpeg, label: "1.5 0.5 0.5 0.2 0.2\n")
        try image("text", jpeg, label: "a 0.5 0.5 0.2 0.2\n")
        try image("notimg", Data("GIF89a".utf8), label: nil)
        try folder.write(
            "path: .\ntrain: images/train\nval: images/train\nnc: 80\n", to: "data.yaml")
        let lines = LogLines()
        let dataset = try TrainDataset(
            spec: try DatasetSpec(contentsOf: folder.file("data.yaml")), imgsz: 64, log: lines.log)
        let scan = dataset.scan
        XCTAssertEqual(scan.summary, "11 images, 2 backgrounds, 8 corrupt")
        func message(_ name: String) -> String {
            scan.messages.first { $0.contains("/\(name).jpg:") } ?? "(no message for \(name))"
        }
        XCTAssertTrue(
            message("trunc").contains("ignoring corrupt image/label: image file is truncated"), message("trunc"))
        XCTAssertTrue(message("four").contains("labels require 5 columns, 4 columns detected"), message("four"))
        XCTAssertTrue(message("bigcls").contains("Label class 80 exceeds dataset class count 80"), message("bigcls"))
        XCTAssertTrue(message("oob").contains("non-normalized or out of bounds coordinates"), message("oob"))
        XCTAssertTrue(message("neg2").contains("negative label values"), message("neg2"))
        XCTAssertTrue(message("frac").contains("non-integer class labels"), message("frac"))
        XCTAssertTrue(message("text").contains("could not convert string to float: 'a'"), message("text"))
        XCTAssertTrue(message("notimg").contains("ignoring corrupt image/label"), message("notimg"))
        XCTAssertTrue(message("dup").contains("1 duplicate labels removed"), message("dup"))
        XCTAssertEqual(message("png"), "(no message for png)")  // a PNG named .jpg is fine, as for the reference
        // What was kept, as the reference keeps it.
        let kept = Dictionary(
            uniqueKeysWithValues: dataset.labels.map { (URL(fileURLWithPath: $0.imageFile).lastPathComponent, $0) })
        XCTAssertEqual(Set(kept.keys), ["dup.jpg", "empty.jpg", "good.jpg", "neg.jpg", "nolabel.jpg", "png.jpg"])
        XCTAssertEqual(kept["dup.jpg"]?.classes, [1, 2])
        XCTAssertEqual(kept["empty.jpg"]?.count, 0)
        XCTAssertEqual(kept["neg.jpg"]?.boxes.first?.x ?? 0, -0.005, accuracy: 1e-7)  // within the -0.01 tolerance
        XCTAssertEqual(kept["png.jpg"]?.shape, ImageShape(height: 480, width: 640))
        XCTAssertTrue(lines.text.contains("11 images, 2 backgrounds, 8 corrupt"), lines.text)
        // Training on it still works: the corrupt images are simply not there.
        let loader = try DataLoader(dataset: dataset, batchSize: 3, workers: 2, seed: 1)
        let batches = loader.epoch(0)
        XCTAssertEqual(batches.reduce(0) { $0 + $1.count }, 6)
        XCTAssertNil(batches.error)
    }

    func testMissingLabelsFolderIsAnErrorForTrainingAndAWarningForValidation() throws {
        try Scenes.writeDataset([("a", 32, 24, []), ("b", 32, 24, [])], in: folder)
        try FileManager.default.removeItem(atPath: folder.file("labels"))
        let spec = try DatasetSpec(contentsOf: folder.file("data.yaml"))
        XCTAssertThrowsError(try TrainDataset(spec: spec, imgsz: 32, log: DataLogging.silent)) { error in
            XCTAssertTrue("\(error)".contains("No labels found in \(folder.file("labels/train"))"), "\(error)")
        }
        let lines = LogLines()
        let val = try ValDataset(spec: spec, split: "val", imgsz: 32, log: lines.log)
        XCTAssertEqual(val.scan.summary, "0 images, 2 backgrounds, 0 corrupt")
        XCTAssertTrue(lines.text.contains("No labels found"), lines.text)
    }

    func testASplitOfOnlyCorruptImagesIsAnErrorListingWhy() throws {
        try folder.mkdir("images/train")
        try folder.write("not a jpeg", to: "images/train/a.jpg")
        try folder.write("0 0.5 0.5 0.1 0.1\n", to: "labels/train/a.txt")
        try folder.write("train: images/train\nval: images/train\nnames: [a]\n", to: "data.yaml")
        XCTAssertThrowsError(
            try TrainDataset(spec: try DatasetSpec(contentsOf: folder.file("data.yaml")), log: DataLogging.silent)
        ) { error in
            XCTAssertTrue("\(error)".contains("No valid images found"), "\(error)")
            XCTAssertTrue("\(error)".contains("a.jpg"), "\(error)")
        }
    }

    func testTheCacheIsWrittenBesideTheLabelsReusedAndRefreshedWhenALabelChanges() throws {
        try Scenes.writeDataset(
            [("a", 40, 30, [.init(cls: 0, x1: 2, y1: 2, x2: 12, y2: 12)]), ("b", 40, 30, [])], in: folder)
        let spec = try DatasetSpec(contentsOf: folder.file("data.yaml"))
        var options = LabelScan.Options()
        options.log = DataLogging.silent
        let files = try spec.imageFiles(split: "train")
        let first = try LabelScan(imageFiles: files, spec: spec, options: options)
        XCTAssertFalse(first.fromCache)
        XCTAssertEqual(first.cachePath, folder.file("labels/train.swift-yolo.cache"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: first.cachePath))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.file("labels")).filter {
            $0.contains(".tmp")  // DurableFile's temporary names: .<name>.tmp-<pid>-<random>
        }
        XCTAssertEqual(leftovers, [])

        let second = try LabelScan(imageFiles: files, spec: spec, options: options)
        XCTAssertTrue(second.fromCache)
        XCTAssertEqual(second.labels, first.labels)
        // An empty label file counts as found, and as a background.
        XCTAssertEqual(second.summary, "2 images, 1 backgrounds, 0 corrupt")

        try folder.write("0 0.5 0.5 0.25 0.25\n0 0.2 0.2 0.1 0.1\n", to: "labels/train/b.txt")  // size changes
        let third = try LabelScan(imageFiles: files, spec: spec, options: options)
        XCTAssertFalse(third.fromCache)
        XCTAssertEqual(third.labels.last?.count, 2)
        XCTAssertEqual(third.summary, "2 images, 0 backgrounds, 0 corrupt")

        // A damaged cache is scanned again, not trusted.
        try folder.write("SWIFTYOLO-LABELS garbage", to: "labels/train.swift-yolo.cache")
        let fourth = try LabelScan(imageFiles: files, spec: spec, options: options)
        XCTAssertFalse(fourth.fromCache)
        XCTAssertEqual(fourth.labels, third.labels)
    }

    /// As the reference's `save_dataset_cache_file`: a cache that cannot be written is a warning, never a failure.
    /// (Root may write into any folder, so here the cache's name is taken by a folder.)
    func testTheScanGoesOnWhenTheCacheCannotBeWritten() throws {
        try Scenes.writeDataset([("a", 40, 30, [.init(cls: 0, x1: 2, y1: 2, x2: 12, y2: 12)])], in: folder)
        try folder.mkdir("labels/train.swift-yolo.cache")
        let spec = try DatasetSpec(contentsOf: folder.file("data.yaml"))
        for _ in 0..<2 {
            let lines = LogLines()
            let train = try TrainDataset(spec: spec, imgsz: 32, log: lines.log)
            XCTAssertEqual(train.scan.summary, "1 images, 0 backgrounds, 0 corrupt")
            XCTAssertFalse(train.scan.fromCache)
            XCTAssertTrue(lines.text.contains("train: WARNING: failed to save cache to"), lines.text)
            XCTAssertFalse(lines.text.contains("New cache created"), lines.text)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.file("labels"))
        XCTAssertEqual(left.sorted(), ["train", "train.swift-yolo.cache"], "no temporary file left behind")
        // A folder that is not writable (here: absent) is reported before anything is written.
        let cache = LabelCache(fingerprint: 1, labels: [])
        XCTAssertEqual(
            cache.save(to: folder.file("absent/train.swift-yolo.cache")),
            "cache directory \(folder.file("absent")) is not writable, cache not saved")
    }

    func testAReadOnlyLabelFolderOnlyWarnsThatTheCacheIsNotSaved() throws {
        try XCTSkipIf(getuid() == 0, "root can write anywhere")
        try Scenes.writeDataset([("a", 40, 30, [.init(cls: 0, x1: 2, y1: 2, x2: 12, y2: 12)])], in: folder)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.file("labels"))
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.file("labels"))
        }
        let lines = LogLines()
        _ = try TrainDataset(spec: try DatasetSpec(contentsOf: folder.file("data.yaml")), imgsz: 32, log: lines.log)
        XCTAssertTrue(lines.text.contains("not writable, cache not saved"), lines.text)
    }
}
