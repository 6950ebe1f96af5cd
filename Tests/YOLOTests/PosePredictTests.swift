import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// `predict` with the reference's pose checkpoint finds its people and their keypoints.
final class PosePredictTests: XCTestCase {
    func testPredictFindsTheReferenceDetectionsAndKeypoints() throws {
        let path = try Fixtures.shared("reference/\(PoseModelTests.folder)/predict_320.json")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let detections = try XCTUnwrap(reference["detections"] as? [String: [[Double]]])
        let keypoints = try XCTUnwrap(reference["keypoints"] as? [String: [[[Double]]]])
        let model = try SegmentPredictTests.modelAsTheFixturesUsedIt(PoseModelTests.folder)
        var worst = (box: 0.0, conf: 0.0, point: 0.0, pointConf: 0.0)
        for (name, expected) in detections.sorted(by: { $0.key < $1.key }) {
            let image = try Fixtures.shared("datasets/coco8-pose/images/train/\(name)")
            let result = try XCTUnwrap(model.predict(image, conf: 0.25, iou: 0.7, imgsz: 320).first)
            XCTAssertEqual(result.boxes.count, expected.count, name)
            guard result.boxes.count == expected.count else { continue }
            for (ours, theirs) in zip(result.boxes.detections, expected) {
                XCTAssertEqual(ours.classIndex, Int(theirs[5]))
                let box = [ours.box.x1, ours.box.y1, ours.box.x2, ours.box.y2].enumerated().map { abs(Double($1) - theirs[$0]) }.max()!
                worst.box = max(worst.box, box)
                worst.conf = max(worst.conf, abs(Double(ours.confidence) - theirs[4]))
            }
            let points = try XCTUnwrap(result.keypoints, name)
            XCTAssertEqual(points.count, expected.count)
            for (ours, theirs) in zip(points.data, keypoints[name] ?? []) {
                for (p, q) in zip(ours, theirs) {
                    worst.pointConf = max(worst.pointConf, abs(Double(p[2]) - q[2]))
                    if q[2] >= 0.5 { worst.point = max(worst.point, max(abs(Double(p[0]) - q[0]), abs(Double(p[1]) - q[1]))) }
                }
            }
            let line = try XCTUnwrap(result.textLines().first)
            XCTAssertEqual(line.split(separator: " ").count, 1 + 4 + 17 * 3, "save_txt: class, box, 17 x (x, y, conf)")
        }
        print("pose predict: worst box \(worst.box) px, conf \(worst.conf), visible keypoints \(worst.point) px, keypoint conf \(worst.pointConf)")
        XCTAssertLessThan(worst.box, 0.5)
        XCTAssertLessThan(worst.conf, 1e-3)
        XCTAssertLessThan(worst.point, 0.5)
        XCTAssertLessThan(worst.pointConf, 1e-3)
    }
}
