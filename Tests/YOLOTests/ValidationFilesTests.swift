import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// What `val` writes beside its metrics: predictions.json in the reference's COCO format and the batch plots.
final class ValidationFilesTests: XCTestCase {
    /// Two images of one 64x96 (h x w) batch: a 200x300 file letterboxed with ratio 0.32 and 16 px padding on top,
    /// and a 96x96 file with no padding.
    func smallBatch(targets: [Float] = [0, 1, 0.5, 0.5, 0.25, 0.5]) throws -> Batch {
        Batch(
            index: 0, epoch: 0, images: try Tensor.zeros([2, 3, 64, 96], dtype: .uint8),
            targets: try Tensor(targets, shape: [targets.count / 6, 6]), targetValues: targets,
            paths: ["/data/images/000000000042.jpg", "/data/images/bus stop.jpg"],
            originalShapes: [ImageShape(height: 200, width: 300), ImageShape(height: 64, width: 96)],
            resizedShapes: [ImageShape(height: 64, width: 96), ImageShape(height: 64, width: 96)],
            ratioPads: [RatioPad(ratioHeight: 0.32, ratioWidth: 0.32, padLeft: 0, padTop: 0),
                        RatioPad(ratioHeight: 1, ratioWidth: 1)])
    }

    func testRecordsMapBoxesToTheFileAsTheReference() throws {
        let batch = try smallBatch()
        // Box 1 straddles the right edge (clipped), box 2 is inside; class 2 -> category 3 with 1...nc.
        let rows: [Float] = [48, 16, 100, 48, 0.876543, 2, 9.6, 3.2, 19.2, 6.4, 0.5, 0]
        let records = COCOPrediction.records(rows, image: 0, of: batch, classMap: Array(1...80))
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0].imageID, .number(42))
        XCTAssertEqual(records[0].fileName, "000000000042.jpg")
        XCTAssertEqual(records[0].categoryID, 3)
        XCTAssertEqual(records[0].bbox, [150, 50, 150, 100], "x2 = 312.5 clipped to the width 300")
        XCTAssertEqual(records[0].score, 0.87654)
        XCTAssertEqual(records[1].bbox, [30, 10, 30, 10])
        XCTAssertEqual(records[1].categoryID, 1)
        XCTAssertEqual(COCOPrediction.records(rows, image: 1, of: batch, classMap: [7, 8, 9])[0].imageID, .name("bus stop"))
        XCTAssertEqual(COCOPrediction.records(rows, image: 1, of: batch, classMap: [7, 8, 9])[1].categoryID, 7)
    }

    func testJSONIsWhatPythonsJSONDumpWrites() throws {
        let records = [
            COCOPrediction(imageID: .number(9), fileName: "000000000009.jpg", categoryID: 46,
                           bbox: [148.103, 0.0, 491.897, 1e-05], score: 0.99964),
            COCOPrediction(imageID: .name("caf\u{e9} \"1\""), fileName: "a/b.jpg", categoryID: 1, bbox: [1, 2, 3, 4], score: 0.001),
        ]
        // Python: json.dumps([{"image_id": 9, ...}, ...]) with the same values.
        let expected = #"[{"image_id": 9, "file_name": "000000000009.jpg", "category_id": 46, "bbox": [148.103, 0.0, 491.897, 1e-05], "score": 0.99964}, "#
            + #"{"image_id": "caf\u00e9 \"1\"", "file_name": "a/b.jpg", "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.001}]"#
        XCTAssertEqual(COCOPrediction.json(records), expected)
        XCTAssertEqual(COCOPrediction.rounded(2.675, 2), 2.67, "Python rounds the binary value, 2.67499999...")
        XCTAssertEqual(COCOPrediction.rounded(0.123456789, 5), 0.12346)
    }

    /// Masks as pycocotools' `encode` writes them (the expected strings are its output for the same masks).
    func testMaskRLEIsPycocotoolsCompressedRLE() {
        let small: [UInt8] = [0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1]
        XCTAssertEqual(COCOMaskRLE(mask: small, height: 3, width: 4).counts, "32111N")
        XCTAssertEqual(COCOMaskRLE(mask: [1, 1, 1, 1, 1, 1], height: 2, width: 3).counts, "06", "a first run of 0")
        var large = [UInt8](repeating: 0, count: 200 * 300)
        for y in 20..<180 { for x in 30..<40 { large[y * 300 + x] = 1 } }
        for y in 50..<60 { for x in 100..<290 { large[y * 300 + x] = 1 } }
        let rle = COCOMaskRLE(mask: large, height: 200, width: 300)
        XCTAssertEqual(rle.counts, "Tl5P5X1" + String(repeating: "0", count: 17) + "ng;ZKh\\D" + String(repeating: "0", count: 377) + "nl1")
        XCTAssertEqual([rle.height, rle.width], [200, 300])
    }

    /// Segment and pose records carry `segmentation` and `keypoints` after the box entries, as the reference's.
    func testSegmentationAndKeypointsFollowTheBoxEntries() {
        var record = COCOPrediction(imageID: .number(9), fileName: "9.jpg", categoryID: 1, bbox: [1, 2, 3, 4], score: 0.5)
        record.segmentation = COCOMaskRLE(mask: [1, 1, 1, 1, 1, 1], height: 2, width: 3)
        XCTAssertEqual(COCOPrediction.json([record]), #"[{"image_id": 9, "file_name": "9.jpg", "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5, "segmentation": {"size": [2, 3], "counts": "06"}}]"#)
        record.segmentation = nil
        record.keypoints = [Double(Float(53.4333)), 248.5, Double(Float(0.17966))]
        XCTAssertEqual(COCOPrediction.json([record]), #"[{"image_id": 9, "file_name": "9.jpg", "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5, "keypoints": [53.43330001831055, 248.5, 0.17966000735759735]}]"#)  // Python: repr(float(np.float32(0.17966)))
    }

    /// Keypoints go back to the file's pixels as the reference's `scale_coords`: padding off, each axis divided by
    /// its own gain, clipped to the image.
    func testKeypointsAreScaledPerAxisAndClipped() throws {
        let batch = try smallBatch()  // image 0: ratio 0.32, no padding, 200 x 300
        let points = COCOPrediction.keypoints([32, 16, 0.9, 200, -5, 0.1], count: 2, dims: 3, image: 0, of: batch)
        XCTAssertEqual(points.count, 1)
        XCTAssertEqual(points[0][0], 100, accuracy: 1e-4)
        XCTAssertEqual(points[0][1], 50, accuracy: 1e-4)
        XCTAssertEqual(points[0][2], Double(Float(0.9)))
        XCTAssertEqual(points[0][3], 300, "clipped to the width")
        XCTAssertEqual(points[0][4], 0, "clipped to the top")
    }

    func testClassMapIsCOCOsOnlyForCOCOsOwnLists() {
        XCTAssertEqual(ValidationFiles.classMap(splitPaths: ["/d/coco/val2017.txt"], classCount: 80)[79], 90)
        XCTAssertEqual(ValidationFiles.classMap(splitPaths: ["/d/coco8/images/val"], classCount: 80)[79], 80)
        XCTAssertEqual(ValidationFiles.classMap(splitPaths: ["/d/mine/val2017.txt"], classCount: 3), [1, 2, 3])
    }

    func testPredictionPlotDrawsOnlyConfidentBoxes() throws {
        let batch = try smallBatch()
        let names = ["a", "b", "c"]
        let empty = try BatchPlot.render(batch, names: names, boxes: []).bytes
        let weak = BatchPlot.predictions([[10, 10, 40, 40, 0.2, 1], []], batch: batch)
        let strong = BatchPlot.predictions([[10, 10, 40, 40, 0.9, 1], []], batch: batch)
        XCTAssertEqual(weak.first?.confidence ?? 0, 0.2, accuracy: 1e-6)
        XCTAssertEqual(try BatchPlot.render(batch, names: names, boxes: weak).bytes, empty, "0.2 is under the 0.25 threshold")
        XCTAssertNotEqual(try BatchPlot.render(batch, names: names, boxes: strong).bytes, empty)
        XCTAssertNotEqual(try BatchPlot.render(batch, names: names).bytes, empty, "labels drawn by default")
        XCTAssertEqual(BatchPlot.predictions([[1, 1, 2, 2, 0.9, 0, 3, 3, 4, 4, 0.8, 0]], batch: batch, maxDet: 1).count, 1)
    }

    /// Masks are painted in their object's class colour (0.6 over the image, as the reference): the j-th object of
    /// an image is where its overlap map holds j + 1.
    func testPlotsPaintEachObjectsMaskInItsClassColour() throws {
        let targets: [Float] = [0, 1, 0.25, 0.6, 0.4, 0.5, 0, 2, 0.75, 0.6, 0.4, 0.5]
        var map = [Int32](repeating: 0, count: 16 * 24)
        for y in 7...12 {
            for x in 2...9 { map[y * 24 + x] = 1 }
            for x in 14...21 { map[y * 24 + x] = 2 }
        }
        var batch = try smallBatch(targets: targets)
        batch.masks = try Tensor(map, shape: [1, 16, 24])
        let plot = try BatchPlot.render(batch, names: ["a", "b", "c"])
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { let p = 3 * (y * plot.width + x); return Array(plot.bytes[p..<p + 3]) }
        func painted(_ c: Int) -> [UInt8] {
            let color = BatchPlot.color(forClass: c)
            return [color.b, color.g, color.r].map { UInt8((Double($0) * 0.6).rounded()) }
        }
        XCTAssertEqual(pixel(24, 40), painted(1), "object 1 (map value 1) in class 1's colour")
        XCTAssertEqual(pixel(70, 40), painted(2), "object 2 (map value 2) in class 2's colour")
        XCTAssertEqual(pixel(48, 60), [0, 0, 0], "no mask there")
    }

    /// Keypoints are drawn where they are visible, in their keypoint's colour (COCO's palette only for 17).
    func testPlotsDrawVisibleKeypoints() throws {
        var batch = try smallBatch(targets: [0, 0, 0.5, 0.55, 0.9, 0.7])
        let points: [Float] = [0.2, 0.8, 2, 0.5, 0.8, 2, 0.8, 0.8, 0, 0.5, 0.3, 2]
        batch.keypoints = try Tensor(points, shape: [1, 4, 3])
        let plot = try BatchPlot.render(batch, names: ["a"])
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { let p = 3 * (y * plot.width + x); return Array(plot.bytes[p..<p + 3]) }
        func color(_ k: Int) -> [UInt8] { let c = BatchPlot.color(forClass: k); return [c.b, c.g, c.r] }
        XCTAssertEqual(pixel(19, 51), color(0))
        XCTAssertEqual(pixel(48, 51), color(1))
        XCTAssertEqual(pixel(77, 51), [0, 0, 0], "an invisible keypoint is not drawn")
        XCTAssertEqual(pixel(48, 19), color(3))
    }

    /// With the overfit checkpoint: predictions.json holds exactly the validator's detections, mapped back to the
    /// files' pixels through the val geometry recomputed here from the sizes alone, and the plots exist.
    func testValWritesPredictionsJSONAndPlots() throws {
        let model = try DetectionModel.load(contentsOf: try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("valfiles-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Config([
            "data": .string(try SharedDatasets.yaml("coco8.yaml")), "imgsz": .int(320), "batch": .int(2),
            "workers": .int(2), "mode": .string("val"), "conf": .double(0.001), "save_json": .bool(true),
        ])
        let validator = try Validator.forDataset(config, names: model.names, folder: dir)
        validator.log = { _ in }
        _ = try validator.run(model, showProgress: false)
        for i in 0..<2 {  // 4 images in batches of 2: two batches
            for kind in ["labels", "pred"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("val_batch\(i)_\(kind).jpg").path))
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("val_batch2_labels.jpg").path))

        let data = try Data(contentsOf: dir.appendingPathComponent("predictions.json"))
        let written = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        // The same detections again, mapped back through the reference's val geometry: the file resized to long side
        // imgsz (`load_image`, sides rounded up), then letterboxed into the batch's shape without enlarging, centred.
        func toFile(_ v: [Double], original o: ImageShape, batch: ImageShape) -> [Double] {
            let r = 320.0 / Double(max(o.height, o.width))
            let (h1, w1) = (min((Double(o.height) * r).rounded(.up), 320), min((Double(o.width) * r).rounded(.up), 320))
            let r2 = min(Double(batch.height) / h1, Double(batch.width) / w1, 1)
            let (h2, w2) = ((h1 * r2).rounded(), (w1 * r2).rounded())
            let left = ((Double(batch.width) - w2) / 2 - 0.1).rounded(), top = ((Double(batch.height) - h2) / 2 - 0.1).rounded()
            let (gx, gy) = (w2 / Double(o.width), h2 / Double(o.height))
            let x = [(v[0] - left) / gx, (v[1] - top) / gy, (v[2] - left) / gx, (v[3] - top) / gy]
            let clipped = [min(max(x[0], 0), Double(o.width)), min(max(x[1], 0), Double(o.height)),
                           min(max(x[2], 0), Double(o.width)), min(max(x[3], 0), Double(o.height))]
            return clipped + [v[4], v[5]]
        }
        var expected: [(file: String, row: [Double])] = []
        for batch in validator.loader.epoch(0) {
            let x = try batch.normalizedImages()
            let raw = try withNoGrad { try model(x) }
            let kept = try nonMaxSuppression(prediction: raw, conf: 0.001, iou: 0.7, multiLabel: true, maxDet: 300)
            for (i, d) in kept.enumerated() {
                let values = try d.size(0) == 0 ? [] : d.slice(dim: 1, end: 6).contiguous().toArray(Float.self).map(Double.init)
                for r in stride(from: 0, to: values.count, by: 6) {
                    expected.append((URL(fileURLWithPath: batch.paths[i]).lastPathComponent,
                                     toFile(Array(values[r..<r + 6]), original: batch.originalShapes[i], batch: batch.shape)))
                }
            }
        }
        XCTAssertGreaterThan(expected.count, 0)
        XCTAssertEqual(written.count, expected.count, "one record per detection")
        var worst = 0.0
        for (record, (file, row)) in zip(written, expected) {
            XCTAssertEqual(record["file_name"] as? String, file)
            let stem = (file as NSString).deletingPathExtension
            XCTAssertEqual(record["image_id"] as? Int, Int(stem))
            XCTAssertEqual(record["category_id"] as? Int, Int(row[5]) + 1, "coco8's own folders: index + 1")
            XCTAssertEqual(record["score"] as? Double ?? -1, row[4], accuracy: 6e-6)
            let bbox = try XCTUnwrap(record["bbox"] as? [Double])
            let corners = [bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]]
            for k in 0..<4 {
                worst = max(worst, abs(corners[k] - row[k]))
                XCTAssertEqual(corners[k], row[k], accuracy: 0.01, "\(file) \(row)")
            }
        }
        print("predictions.json vs detections: \(written.count) records, worst corner difference \(worst) px")
    }
}
