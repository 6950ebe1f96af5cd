import Foundation
import Torch
import XCTest

@testable import YOLO

/// The v8 segmentation loss against the reference's numbers on the same predictions, targets and overlap masks.
final class SegmentLossTests: XCTestCase {
    static let folder = SegmentModelTests.folder

    func fixture(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name, in: Self.folder)
        return try Tensor(values, shape: shape)
    }

    func overlapMasks() throws -> Tensor {
        let (values, shape) = try Fixtures.bytes("loss_masks", in: Self.folder)
        return try Tensor(values.map(Float.init), shape: shape)
    }

    func loss(overlap: Bool = true) -> SegmentationLoss {
        SegmentationLoss(detection: DetectionLoss(classes: 80, strides: [8, 16, 32]), overlap: overlap)
    }

    func run(_ loss: SegmentationLoss, boxes: Tensor? = nil, coefficients: Tensor? = nil, masks: Tensor? = nil) throws -> LossResult {
        try loss(
            boxes: boxes ?? fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"),
            maskCoefficients: coefficients ?? fixture("loss_pred_mask_coefficients"), prototypes: fixture("loss_pred_proto"),
            featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"), masks: masks ?? overlapMasks())
    }

    func testLossMatchesTheReference() throws {
        let expected = try Fixtures.expected("loss", as: [String: Any].self, in: Self.folder)
        let names = try XCTUnwrap(expected["names"] as? [String]), items = try XCTUnwrap(expected["items"] as? [Double])
        let result = try run(loss())
        XCTAssertEqual(result.names, names)
        for (name, (ours, reference)) in zip(names, zip(result.items, items)) {
            print("segment loss \(name): ours \(ours), reference \(reference)")
            XCTAssertEqual(ours, reference, accuracy: Swift.max(1e-4 * abs(reference), 1e-7), name)
        }
        let total = try XCTUnwrap(expected["total"] as? Double)
        XCTAssertEqual(try result.total.item(), total, accuracy: 1e-4 * total)
    }

    /// One mask per object (overlap_mask=False) gives the same loss as the index maps it is cut from.
    func testPerObjectMasksGiveTheSameLoss() throws {
        let maps = try overlapMasks()
        let targets = try fixture("loss_targets")
        let image = try targets.select(dim: 1, index: 0).toArray(Float.self).map(Int.init)
        var counts = [Int: Int]()
        let perObject = try image.map { i -> Tensor in
            counts[i, default: 0] += 1
            return try maps.select(dim: 0, index: i).eq(Double(counts[i]!)).to(.float32)
        }
        let overlapped = try run(loss()), separate = try run(loss(overlap: false), masks: Tensor.stack(perObject))
        XCTAssertEqual(separate.items[1], overlapped.items[1], accuracy: 1e-6 * overlapped.items[1])
    }

    func testGradientsReachCoefficientsAndPrototypesAndAnEmptyBatchIsFinite() throws {
        let coefficients = try fixture("loss_pred_mask_coefficients").requiresGrad(true)
        let prototypes = try fixture("loss_pred_proto").requiresGrad(true)
        let result = try loss()(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"), maskCoefficients: coefficients,
            prototypes: prototypes, featureSizes: [(40, 40), (20, 20), (10, 10)], targets: fixture("loss_targets"),
            masks: overlapMasks())
        try result.total.backward()
        XCTAssertGreaterThan(try coefficients.grad!.abs().sum().item(), 0)
        XCTAssertGreaterThan(try prototypes.grad!.abs().sum().item(), 0)

        let empty = try loss()(
            boxes: fixture("loss_pred_boxes"), scores: fixture("loss_pred_scores"),
            maskCoefficients: coefficients.detach(), prototypes: prototypes.detach(), featureSizes: [(40, 40), (20, 20), (10, 10)],
            targets: Tensor.zeros([0, 6]), masks: Tensor.zeros([4, 80, 80]))
        XCTAssertEqual(empty.item("seg_loss"), 0)
        XCTAssertTrue(try empty.total.isfinite().all().item() == 1)
    }
}
