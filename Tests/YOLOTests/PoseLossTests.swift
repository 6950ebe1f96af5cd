import Foundation
import Torch
import XCTest

@testable import YOLO

/// The v8 pose loss against the reference's numbers on the same predictions, targets and keypoints.
final class PoseLossTests: XCTestCase {
    static let folder = PoseModelTests.folder

    func fixture(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name, in: Self.folder)
        return try Tensor(values, shape: shape)
    }

    func loss() throws -> PoseLoss {
        try PoseLoss(detection: DetectionLoss(classes: 1, strides: [8, 16, 32]), keypointShape: (17, 3))
    }

    func testLossMatchesTheReference() throws {
        let expected = try Fixtures.expected("loss", as: [String: Any].self, in: Self.folder)
        let names = try XCTUnwrap(expected["names"] as? [String]), items = try XCTUnwrap(expected["items"] as? [Double])
        let result = try loss()(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"), keypoints: fixture("loss_pred_kpts"),
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"),
            keypointTargets: fixture("loss_keypoints"))
        XCTAssertEqual(result.names, names)
        for (name, (ours, reference)) in zip(names, zip(result.items, items)) {
            print("pose loss \(name): ours \(ours), reference \(reference)")
            XCTAssertEqual(ours, reference, accuracy: Swift.max(1e-4 * abs(reference), 1e-7), name)
        }
        let total = try XCTUnwrap(expected["total"] as? Double)
        XCTAssertEqual(try result.total.item(), total, accuracy: 1e-4 * total)
    }

    func testGradientsReachTheKeypointsAndAnEmptyBatchIsFinite() throws {
        let keypoints = try fixture("loss_pred_kpts").requiresGrad(true)
        let result = try loss()(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"), keypoints: keypoints,
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"),
            keypointTargets: fixture("loss_keypoints"))
        try result.total.backward()
        XCTAssertGreaterThan(try keypoints.grad!.abs().sum().item(), 0)
        let empty = try loss()(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"), keypoints: keypoints.detach(),
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: Tensor.zeros([0, 6]),
            keypointTargets: Tensor.zeros([0, 17, 3]))
        XCTAssertEqual(empty.item("pose_loss"), 0)
        XCTAssertTrue(try empty.total.isfinite().all().item() == 1)
    }

    func testSigmasAreCOCOsForSeventeenKeypointsElseUniform() throws {
        XCTAssertEqual(keypointSigmas((17, 3)).first!, 0.026, accuracy: 1e-7)
        XCTAssertEqual(keypointSigmas((5, 2)), [Float](repeating: 0.2, count: 5))
        XCTAssertThrowsError(try PoseLoss(detection: DetectionLoss(classes: 1, strides: [8, 16, 32]), keypointShape: (3, 3), sigmas: [1, 0, 1]))
    }
}
