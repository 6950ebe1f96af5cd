import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// End to end with the reference's overfit checkpoint: `val` and `predict` give the reference's numbers and boxes.
final class PredictValTests: XCTestCase {
    func overfitModel() throws -> DetectionModel {
        try DetectionModel.load(contentsOf: try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt"))
    }

    func testValMatchesTheReference() throws {
        let expectedPath = try Fixtures.shared("reference/yolov8n-coco8-overfit/val_320.json")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedPath))) as! [String: Any]
        let config = try Config([
            "data": .string(try SharedDatasets.yaml("coco8-trainval.yaml")), "imgsz": .int(320), "batch": .int(16),
            "workers": .int(2), "mode": .string("val"),
        ])
        let model = try overfitModel()
        let validator = try Validator.forDataset(config, names: model.names)
        let output = try validator.run(model, showProgress: false)
        let r = output.results
        print(validator.table(r, perClass: true).joined(separator: "\n"))
        for (key, ours) in [("precision", r.precision), ("recall", r.recall), ("mAP50", r.map50), ("mAP50-95", r.map)] {
            XCTAssertEqual(ours, expected[key] as! Double, accuracy: 1e-3, key)
        }
        let perClass = expected["per_class_ap50_95"] as! [String: Double]
        for (i, c) in r.perClass.classes.enumerated() {
            XCTAssertEqual(r.classAP[i], perClass["\(c)"] ?? -1, accuracy: 1e-3, "class \(c)")
        }
    }

    func testPredictMatchesTheReference() throws {
        let expectedPath = try Fixtures.shared("reference/yolov8n-coco8-overfit/predict_320.json")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedPath))) as! [String: Any]
        let detections = expected["detections"] as! [String: [[Double]]]
        var config = Config()
        try config.set("imgsz", .int(320))
        let predictor = Predictor(model: try overfitModel(), config: config)
        predictor.log = { _ in }
        let folder = try Fixtures.shared("datasets/coco8/images/train")
        var worst = (box: 0.0, conf: 0.0)
        for (name, reference) in detections.sorted(by: { $0.key < $1.key }) {
            let results = try predictor.predict(try Image(contentsOf: "\(folder)/\(name)"), path: name)
            let ours = zip(results.boxes.xyxy, zip(results.boxes.conf, results.boxes.cls)).map { b, cc in
                b.map(Double.init) + [Double(cc.0), Double(cc.1)]
            }
            XCTAssertEqual(ours.count, reference.count, "\(name): number of detections")
            var unmatched = ours
            for row in reference {
                // The same class, the closest box.
                guard let k = unmatched.indices.filter({ unmatched[$0][5] == row[5] }).min(by: {
                    distance(unmatched[$0], row) < distance(unmatched[$1], row)
                }) else { XCTFail("\(name): no detection of class \(row[5])"); continue }
                worst.box = max(worst.box, distance(unmatched[k], row))
                worst.conf = max(worst.conf, abs(unmatched[k][4] - row[4]))
                XCTAssertLessThan(distance(unmatched[k], row), 0.5, "\(name): box \(row)")
                XCTAssertEqual(unmatched[k][4], row[4], accuracy: 1e-3, "\(name): confidence")
                unmatched.remove(at: k)
            }
        }
        print("predict parity: worst corner difference \(worst.box) px, confidence \(worst.conf)")
    }

    /// `half=True` on the CPU: bfloat16 where the CPU computes in it natively, float32 elsewhere (the same metrics
    /// exactly). In bfloat16, val's mAP stays within 0.05 of float32's (this overfit model is sensitive: the
    /// reference's own bfloat16 copy moves its confident boxes by up to 10 px at 320), and predict finds detections.
    func testHalfRunsInTheCPUsLowerPrecision() throws {
        let model = try YOLO(try Fixtures.shared("reference/yolov8n-coco8-overfit/best.pt"))
        let data: [String: ConfigValue] = [
            "data": .string(try SharedDatasets.yaml("coco8-trainval.yaml")), "imgsz": .int(320), "workers": .int(2),
            "plots": .bool(false), "project": .string(FileManager.default.temporaryDirectory.appendingPathComponent("half-\(UUID())").path),
        ]
        let full = try model.val(overrides: data)
        XCTAssertEqual(model.model.dtype, .float32)
        let half = try model.val(overrides: data.merging(["half": .bool(true)]) { $1 })
        print("val mAP50-95 float32 \(full.results.map), half \(half.results.map); mAP50 \(full.results.map50), \(half.results.map50)")
        if CPUInfo.current.hasNativeBFloat16 {
            XCTAssertEqual(model.model.dtype, .bfloat16)
            XCTAssertEqual(half.results.map50, full.results.map50, accuracy: 0.05)
            XCTAssertEqual(half.results.map, full.results.map, accuracy: 0.05)
            XCTAssertNotEqual(half.results.map, full.results.map)  // it did run in bfloat16
        } else {
            XCTAssertEqual(model.model.dtype, .float32)
            XCTAssertEqual(half.results.map, full.results.map)
        }
        let image = try Image(contentsOf: try Fixtures.shared("datasets/coco8/images/train/000000000009.jpg"))
        XCTAssertGreaterThan(try model.predict(image, imgsz: 320, overrides: ["half": .bool(true)]).boxes.cls.count, 0)
    }

    /// The predictor's one-pass input conversion gives exactly `Image.tensor()`'s values.
    func testInputTensorIsImageTensor() throws {
        let image = try Image(width: 7, height: 5, fill: Color(b: 10, g: 128, r: 255))
        image.withUnsafeMutableBytes { for i in $0.indices { $0[i] = UInt8(truncatingIfNeeded: i &* 37) } }
        let ours = try Predictor.inputTensor(image), reference = try image.tensor()
        XCTAssertEqual(ours.shape, [1, 3, 5, 7])
        XCTAssertEqual(try ours.toArray(Float.self), try reference.contiguous().toArray(Float.self))
    }

    func distance(_ a: [Double], _ b: [Double]) -> Double { (0..<4).map { abs(a[$0] - b[$0]) }.max()! }

    func testPredictSourcesAndBadInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("predict-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try Image(width: 64, height: 48, fill: Color(b: 30, g: 90, r: 200))
        try image.write(to: dir.appendingPathComponent("a.png").path)
        try image.write(to: dir.appendingPathComponent("b.jpg").path)
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("broken.jpg"))
        XCTAssertEqual(try PredictSource.items(dir.path).count, 3)
        XCTAssertEqual(try PredictSource.items(dir.path + "/*.png"), [.image(dir.path + "/a.png")])
        XCTAssertThrowsError(try PredictSource.items(dir.path + "/missing.jpg")) { XCTAssertTrue("\($0)".contains("missing.jpg")) }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try PredictSource.items(empty.path)) { XCTAssertTrue("\($0)".contains("no image")) }

        var config = Config()
        try config.set("imgsz", .int(64))
        try config.set("save_txt", .bool(true))
        let predictor = Predictor(model: try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 2)), config: config)
        var lines: [String] = []
        predictor.log = { lines.append($0) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let results = try predictor.run(source: dir.path, writer: PredictionWriter(folder: out, config: config))
        XCTAssertEqual(results.count, 2, "the broken image is skipped, the others processed")
        XCTAssertTrue(lines.contains { $0.contains("WARNING") && $0.contains("broken.jpg") }, "\(lines)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("a.jpg").path))
    }

    /// Videos among images: a corrupt file, a codec no decoder knows and a truncated file each get a warning naming
    /// them; the good video and the images are still processed.
    func testPredictSkipsBadVideos() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("predict-video-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("b-good.avi")
        do {
            let writer = try VideoWriter(path: good.path, fourcc: "MJPG", fps: 5, width: 64, height: 48)
            for g in [40, 120, 200] { try writer.write(try Image(width: 64, height: 48, fill: Color(gray: UInt8(g)))) }
            try writer.close()
        } catch { throw XCTSkip("this OpenCV cannot write MJPG: \(error)") }
        let bytes = try Data(contentsOf: good)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(to: dir.appendingPathComponent("c-corrupt.mp4"))
        // The same AVI with its codec tag ("MJPG" in the stream headers) renamed to one no decoder has.
        var unknown = bytes
        for range in ranges(of: Data("MJPG".utf8), in: bytes) { unknown.replaceSubrange(range, with: Data("QQQQ".utf8)) }
        XCTAssertNotEqual(unknown, bytes)
        try unknown.write(to: dir.appendingPathComponent("d-codec.avi"))
        try bytes.prefix(bytes.count / 3).write(to: dir.appendingPathComponent("e-truncated.avi"))
        try Image(width: 64, height: 48, fill: Color(gray: 90)).write(to: dir.appendingPathComponent("a.jpg").path)
        try Image(width: 64, height: 48, fill: Color(gray: 90)).write(to: dir.appendingPathComponent("f.jpg").path)

        var config = Config()
        try config.set("imgsz", .int(64))
        let predictor = Predictor(model: try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 2)), config: config)
        var lines: [String] = []
        predictor.log = { lines.append($0) }
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let results = try predictor.run(source: dir.path, writer: PredictionWriter(folder: out, config: config))
        XCTAssertEqual(results.count, 2, "both images, the one after the bad videos too")
        XCTAssertEqual(lines.filter { $0.contains("b-good.avi") && $0.hasPrefix("video") }.count, 3, "\(lines)")
        for name in ["c-corrupt.mp4", "d-codec.avi"] {
            XCTAssertTrue(lines.contains { $0.contains("WARNING") && $0.contains(name) }, "\(name): \(lines)")
        }
        let truncatedFrames = lines.filter { $0.contains("e-truncated.avi") && $0.hasPrefix("video") }.count
        XCTAssertLessThan(truncatedFrames, 3)
        if truncatedFrames == 0 { XCTAssertTrue(lines.contains { $0.contains("WARNING") && $0.contains("e-truncated.avi") }) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("b-good.mp4").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("d-codec.mp4").path), "no empty video")
    }

    func ranges(of needle: Data, in data: Data) -> [Range<Data.Index>] {
        var found: [Range<Data.Index>] = [], start = data.startIndex
        while let r = data.range(of: needle, in: start..<data.endIndex) { found.append(r); start = r.upperBound }
        return found
    }
}
