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

/// Polygon label rows: the reference's checks, and random rows never crash the parser.
final class PolygonLabelTests: XCTestCase {
    func parse(_ text: String) -> (label: ImageLabel?, error: String?) {
        let parser = LabelParser(classCount: 3)
        var label = ImageLabel(imageFile: "x.jpg", shape: ImageShape(height: 100, width: 100))
        var check = LabelCheck()
        do {
            try parser.parse(Data(text.utf8), into: &label, result: &check, image: "x.jpg")
            return (label, nil)
        } catch {
            return (nil, "\(error)")
        }
    }

    func testPolygonRowsBecomeSegmentsWithTheirBoxes() throws {
        let (label, error) = parse("1 0.1 0.2 0.5 0.2 0.5 0.6\n2 0.6 0.6 0.9 0.6 0.9 0.9 0.6 0.9\n")
        XCTAssertNil(error)
        XCTAssertEqual(label?.classes, [1, 2])
        XCTAssertEqual(label?.segments.map(\.count), [3, 4])
        let box = try XCTUnwrap(label?.boxes.first)
        XCTAssertEqual(box.x, 0.3, accuracy: 1e-6)  // centre x of 0.1 ... 0.5
        XCTAssertEqual(box.w, 0.4, accuracy: 1e-6)  // height 0.2 ... 0.6
    }

    func testTheReferencesChecksOnPolygons() {
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 0.5\n").error?.contains("labels require 5 columns") ?? false,
                      "5 coordinates after the class: read as a box row of the wrong width")
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 0.5 0.5 0.2\n").error?.contains("odd number") ?? false)
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 1.5 0.5\n").error?.contains("out of bounds") ?? false)
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 0.5 0.5\n0 0.5 0.5 0.2 0.2\n").error?.contains("mix segment and detection") ?? false)
        XCTAssertTrue(parse("7 0.1 0.1 0.5 0.1 0.5 0.5\n").error?.contains("exceeds dataset class count") ?? false)
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 0.5 0.5\n1\n").error?.contains("no coordinates") ?? false)
        XCTAssertTrue(parse("0 0.1 0.1 0.5 0.1 nan 0.5\n").error?.contains("out of bounds") ?? false)
        XCTAssertTrue(parse("inf 0.5 0.5 0.2 0.2\n").error?.contains("non-integer class") ?? false, "a box row's class too")
    }

    /// FUZZ_ITERATIONS random label files (default 2,000): numbers, junk words, odd widths, NaN and huge values. Each
    /// either parses into labels whose polygons have whole points inside the tolerance, or is a thrown error.
    func testFuzzRandomPolygonRowsParseOrThrowButNeverCrash() {
        let iterations = Int(ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"] ?? "") ?? 2_000
        var rng = SystemRandomNumberGenerator()
        let words = ["nan", "inf", "-0.5", "1e9", "x", "", "0.5.5", "2", "-1", "0.999", "1.01", "1.02"]
        var parsed = 0, rejected = 0
        for _ in 0..<iterations {
            let rows = (0..<Int.random(in: 0...5, using: &rng)).map { _ -> String in
                let count = Int.random(in: 1...14, using: &rng)
                return (0..<count).map { i -> String in
                    if Int.random(in: 0..<10, using: &rng) == 0 { return words.randomElement(using: &rng)! }
                    return i == 0 ? "\(Int.random(in: 0...3, using: &rng))" : String(Float.random(in: 0...1, using: &rng))
                }.joined(separator: " ")
            }
            let (label, _) = parse(rows.joined(separator: "\n"))
            if let label {
                parsed += 1
                // Rows of 1 or 2 points next to polygons are kept as the reference keeps them (zero-area boxes).
                XCTAssertTrue(label.segments.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.x.isFinite && $0.y.isFinite } },
                              "accepted \(rows) as \(label.segments)")
                XCTAssertTrue(label.segments.isEmpty || label.segments.count == label.classes.count)
            } else {
                rejected += 1
            }
        }
        print("polygon fuzz: \(iterations) random label files, \(parsed) parsed, \(rejected) rejected with an error")
        XCTAssertEqual(parsed + rejected, iterations)
    }
}
