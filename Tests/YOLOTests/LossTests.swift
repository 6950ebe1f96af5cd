import Foundation
import Torch
import XCTest

@testable import YOLO

/// The v8 detection loss against the reference's numbers on the same predictions and targets.
final class LossTests: XCTestCase {
    func fixture(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name)
        return try Tensor(values, shape: shape)
    }

    func testLossMatchesTheReference() throws {
        let expected = try Fixtures.expected("loss", as: [String: Any].self)
        let loss = DetectionLoss(classes: 80, strides: [8, 16, 32])
        let result = try loss(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"),
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"))
        let foreground = try result.assignment.foreground.sum().item()
        XCTAssertEqual(Int(foreground), expected["foreground_anchors"] as? Int)
        for (name, ours) in [("box", result.box), ("cls", result.cls), ("dfl", result.dfl), ("total", try result.total.item())] {
            let reference = try XCTUnwrap(expected[name] as? Double)
            XCTAssertEqual(ours, reference, accuracy: 1e-4 * abs(reference), name)
            print("loss \(name): ours \(ours), reference \(reference), relative error \(abs(ours - reference) / abs(reference))")
        }
    }

    func testAssignmentMatchesTheReference() throws {
        let loss = DetectionLoss(classes: 80, strides: [8, 16, 32])
        let result = try loss(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"),
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"))
        let fg = try fixture("loss_assign_fg_mask").gt(0.5)
        XCTAssertTrue(try result.assignment.foreground.equal(fg), "foreground anchors differ")
        let index = try fixture("loss_assign_gt_index").to(.int64)
        XCTAssertTrue(try result.assignment.groundTruthIndex.maskedSelect(fg).equal(index.maskedSelect(fg)))
        let boxes = try fixture("loss_assign_target_boxes")
        XCTAssertLessThan(try (result.assignment.boxes - boxes).abs().amax().item(), 1e-3)
    }

    func testLossGradientsFlowAndAnEmptyBatchIsFinite() throws {
        let boxes = try fixture("loss_pred_boxes").requiresGrad(true)
        let scores = try fixture("loss_pred_scores").requiresGrad(true)
        let loss = DetectionLoss(classes: 80, strides: [8, 16, 32])
        let result = try loss(boxes: boxes, scores: scores, featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"))
        try result.total.backward()
        XCTAssertGreaterThan(try boxes.grad!.abs().sum().item(), 0)
        XCTAssertGreaterThan(try scores.grad!.abs().sum().item(), 0)

        let empty = try loss(
            boxes: boxes.detach(), scores: scores.detach(), featureSizes: [(40, 40), (20, 20), (10, 10)],
            targets: Tensor.zeros([0, 6]))
        XCTAssertEqual(empty.box, 0)
        XCTAssertEqual(empty.dfl, 0)
        XCTAssertTrue(try empty.total.isfinite().all().item() == 1)
        XCTAssertGreaterThan(empty.cls, 0)
    }

    func testCompleteIoUOnHandMadeBoxes() throws {
        let a = try Tensor([0, 0, 10, 10] as [Float], shape: [1, 4])
        XCTAssertEqual(try completeIoU(a, a).item(), 1, accuracy: 1e-5)
        // Half overlap, same shape: IoU 1/3, centres 5 apart, enclosing diagonal² 15² + 10².
        let b = try Tensor([5, 0, 15, 10] as [Float], shape: [1, 4])
        XCTAssertEqual(try completeIoU(a, b).item(), 1.0 / 3 - 25.0 / 325, accuracy: 1e-5)
    }
}
