import Foundation
import Torch
import XCTest

@testable import YOLO

/// `val` of the reference's segmentation checkpoint gives its box and mask metrics.
final class SegmentValTests: XCTestCase {
    func testValMatchesTheReferenceBoxAndMaskMetrics() throws {
        let path = try Fixtures.shared("reference/\(SegmentModelTests.folder)/val_320.json")
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let config = try Config([
            "data": .string(try SharedDatasets.yaml("coco8-seg-trainval.yaml")), "imgsz": .int(320), "batch": .int(16),
            "workers": .int(2), "mode": .string("val"),
        ])
        let yolo = try SegmentPredictTests.modelAsTheFixturesUsedIt()
        let validator = try Validator.forDataset(
            config, names: yolo.names, masks: try TaskComponents(model: yolo.model, config: config).masks)
        let output = try validator.run(yolo.model, showProgress: false)
        print(([Validator.header(for: yolo.model)] + validator.table(output, perClass: true)).joined(separator: "\n"))
        let masks = try XCTUnwrap(output.masks)
        for (kind, results) in [("box", output.results), ("mask", masks)] {
            let reference = try XCTUnwrap(expected[kind] as? [String: Double])
            for (key, ours) in [("precision", results.precision), ("recall", results.recall), ("mAP50", results.map50), ("mAP50-95", results.map)] {
                XCTAssertEqual(ours, reference[key]!, accuracy: 2e-3, "\(kind) \(key)")
            }
        }
        XCTAssertEqual(output.fitness, try XCTUnwrap(expected["fitness"] as? Double), accuracy: 2e-3)
    }
}
