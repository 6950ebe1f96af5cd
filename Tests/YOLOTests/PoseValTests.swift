import Foundation
import Torch
import XCTest

@testable import YOLO

/// `val` of the reference's pose checkpoint gives its box and pose (OKS) metrics.
final class PoseValTests: XCTestCase {
    func testValMatchesTheReferenceBoxAndPoseMetrics() throws {
        let path = try Fixtures.shared("reference/\(PoseModelTests.folder)/val_320.json")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let config = try Config([
            "data": .string(try SharedDatasets.yaml("coco8-pose-trainval.yaml")), "imgsz": .int(320), "batch": .int(16),
            "workers": .int(2), "mode": .string("val"),
        ])
        let yolo = try SegmentPredictTests.modelAsTheFixturesUsedIt(PoseModelTests.folder)
        let validator = try Validator.forDataset(config, names: yolo.names, keypoints: true)
        let output = try validator.run(yolo.model, showProgress: false)
        print(([Validator.header(for: yolo.model)] + validator.table(output, perClass: true)).joined(separator: "\n"))
        let pose = try XCTUnwrap(output.pose)
        for (kind, results) in [("box", output.results), ("pose", pose)] {
            let reference = try XCTUnwrap(expected[kind] as? [String: Double])
            for (key, ours) in [("precision", results.precision), ("recall", results.recall), ("mAP50", results.map50), ("mAP50-95", results.map)] {
                XCTAssertEqual(ours, reference[key]!, accuracy: 2e-3, "\(kind) \(key)")
            }
        }
        XCTAssertEqual(output.fitness, try XCTUnwrap(expected["fitness"] as? Double), accuracy: 2e-3)
    }
}
