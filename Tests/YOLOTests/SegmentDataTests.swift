import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// Segmentation batches: polygons become the reference's masks, and its targets come in its order.
final class SegmentDataTests: XCTestCase {
    static let folder = SegmentModelTests.folder

    /// The fixture's four training images through our validation pipeline at 320 (letterboxed, no augmentation),
    /// as the reference's loss fixture made them: the same targets in the same (area-sorted) order, the same masks.
    func testBatchMasksAndTargetsMatchTheReference() throws {
        let spec = try DatasetSpec(contentsOf: try SharedDatasets.yaml("coco8-seg.yaml"))
        let dataset = try ValDataset(spec: spec, split: "train", imgsz: 320, batchSize: 4, rect: false)
        let loader = try DataLoader(dataset: dataset, batchSize: 4, workers: 2, shuffle: false)
        loader.masks = MaskFormat(ratio: 4, overlap: true)
        let batch = try XCTUnwrap(Array(loader.epoch(0)).first)
        XCTAssertEqual(batch.paths.map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["000000000009.jpg", "000000000025.jpg", "000000000030.jpg", "000000000034.jpg"])

        let (targets, targetShape) = try Fixtures.floats("loss_targets", in: Self.folder)
        XCTAssertEqual(batch.targets.shape, targetShape)
        let ours = batch.targetValues
        XCTAssertEqual(ours.count, targets.count)
        XCTAssertLessThan(zip(ours, targets).map { abs($0 - $1) }.max() ?? 1, 1e-5, "targets (image, class, cx, cy, w, h)")

        let (masks, maskShape) = try Fixtures.bytes("loss_masks", in: Self.folder)
        let batchMasks = try XCTUnwrap(batch.masks)
        XCTAssertEqual(batchMasks.shape, maskShape)
        let values = try batchMasks.toArray(Int32.self)
        let differing = zip(values, masks).filter { $0 != Int32($1) }.count
        print("segment batch: \(differing) of \(masks.count) mask pixels differ from the reference's")
        XCTAssertEqual(differing, 0)
    }

    /// One mask per object (overlap_mask=False) holds the same pixels as the index map, object by object.
    func testPerObjectMasksAgreeWithTheOverlapMap() throws {
        let square: [SIMD2<Float>] = [[8, 8], [40, 8], [40, 40], [8, 40]], small: [SIMD2<Float>] = [[16, 16], [24, 16], [24, 24], [16, 24]]
        let overlap = try MaskRasterizer.masks([small, square], height: 64, width: 64, format: MaskFormat(ratio: 4, overlap: true))
        XCTAssertEqual(overlap.order, [1, 0])  // the larger first
        XCTAssertEqual(overlap.planes, 1)
        let separate = try MaskRasterizer.masks([small, square], height: 64, width: 64, format: MaskFormat(ratio: 4, overlap: false))
        XCTAssertEqual(separate.planes, 2)
        let plane = 16 * 16
        for p in 0..<plane {  // the small square is drawn over the large one
            let expected: Int32 = separate.values[p] != 0 ? 2 : (separate.values[plane + p] != 0 ? 1 : 0)
            XCTAssertEqual(overlap.values[p], expected, "pixel \(p)")
        }
    }

    /// A segmentation loader refuses a sample whose objects have no polygons, naming the image.
    func testBoxOnlyLabelsGetAClearErrorFromASegmentationLoader() throws {
        let spec = try DatasetSpec(contentsOf: try SharedDatasets.yaml("coco8.yaml"))
        let dataset = try ValDataset(spec: spec, split: "val", imgsz: 64, batchSize: 2, rect: false)
        let loader = try DataLoader(dataset: dataset, batchSize: 2, workers: 0, shuffle: false)
        loader.masks = MaskFormat()
        let batches = loader.epoch(0)
        for _ in batches {}
        let message = "\(try XCTUnwrap(batches.error))"
        XCTAssertTrue(message.contains(".jpg") && message.contains("polygon"), message)
    }
}
