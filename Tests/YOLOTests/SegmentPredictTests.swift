import Foundation
import Torch
import Vision
import XCTest

@testable import YOLO

/// `predict` with the reference's segmentation checkpoint finds its detections, masks and outlines.
final class SegmentPredictTests: XCTestCase {
    static let folder = SegmentModelTests.folder

    func referencePredictions() throws -> [String: Any] {
        let path = try Fixtures.shared("reference/\(Self.folder)/predict_320.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// Intersection over union of two 0/1 byte masks of the same size.
    func iou(_ a: [UInt8], _ b: [UInt8]) -> Double {
        let inter = zip(a, b).filter { $0 != 0 && $1 != 0 }.count, union = zip(a, b).filter { $0 != 0 || $1 != 0 }.count
        return union == 0 ? 1 : Double(inter) / Double(union)
    }

    /// A polygon filled into a blank mask of the image's size.
    func raster(_ polygon: [SIMD2<Float>], width: Int, height: Int) throws -> [UInt8] {
        let image = try Image(width: width, height: height, channels: 1)
        try image.fillPolygons([polygon.map { PixelPoint(x: Int32($0.x), y: Int32($0.y)) }], color: Color(gray: 1))
        return image.bytes
    }

    /// The checkpoint as the fixture script left it before its val and predict: it ran one training-mode forward
    /// on the loss images first, which moved every batch norm's running statistics one step (momentum 0.03).
    static func modelAsTheFixturesUsedIt(_ folder: String = folder) throws -> YOLO {
        let model = try YOLO(try Fixtures.shared("reference/\(folder)/best.pt"))
        let (values, shape) = try Fixtures.floats("loss_images", in: folder)
        model.model.train()
        _ = try model.model.forwardRaw(try Tensor(values, shape: shape))
        model.model.eval()
        return model
    }

    func testPredictFindsTheReferenceDetectionsMasksAndOutlines() throws {
        let reference = try referencePredictions()
        let detections = try XCTUnwrap(reference["detections"] as? [String: [[Double]]])
        let polygons = try XCTUnwrap(reference["polygons"] as? [String: [[[Double]]]])
        let model = try Self.modelAsTheFixturesUsedIt()
        var worst = (box: 0.0, conf: 0.0, maskIoU: 1.0, outlineIoU: 1.0)
        for (name, expected) in detections.sorted(by: { $0.key < $1.key }) {
            let path = try Fixtures.shared("datasets/coco8-seg/images/train/\(name)")
            let result = try XCTUnwrap(model.predict(path, conf: 0.25, iou: 0.7, imgsz: 320).first)
            XCTAssertEqual(result.boxes.count, expected.count, name)
            guard result.boxes.count == expected.count else { continue }
            for (ours, theirs) in zip(result.boxes.detections, expected) {
                XCTAssertEqual(ours.classIndex, Int(theirs[5]), name)
                let box = [ours.box.x1, ours.box.y1, ours.box.x2, ours.box.y2].enumerated().map { abs(Double($1) - theirs[$0]) }.max()!
                worst.box = max(worst.box, box)
                worst.conf = max(worst.conf, abs(Double(ours.confidence) - theirs[4]))
            }
            guard !expected.isEmpty else { XCTAssertEqual(result.masks?.count ?? 0, 0); continue }
            let masks = try XCTUnwrap(result.masks, name)
            let stem = (name as NSString).deletingPathExtension
            let (bytes, shape) = try Fixtures.bytes("predict_masks_\(stem)", in: Self.folder)
            XCTAssertEqual(masks.data.shape, shape, name)
            let ours = try masks.data.contiguous().toArray(UInt8.self), plane = shape[1] * shape[2]
            for i in 0..<min(masks.count, shape[0]) {
                worst.maskIoU = min(worst.maskIoU, iou(Array(ours[i * plane..<(i + 1) * plane]), Array(bytes[i * plane..<(i + 1) * plane])))
            }
            let (w, h) = (result.originalShape.width, result.originalShape.height)
            for (outline, theirs) in zip(try masks.xy, polygons[name] ?? []) {
                let expectedOutline = theirs.map { SIMD2(Float($0[0]), Float($0[1])) }
                worst.outlineIoU = min(worst.outlineIoU, iou(try raster(outline, width: w, height: h), try raster(expectedOutline, width: w, height: h)))
            }
        }
        print("segment predict: worst box \(worst.box) px, confidence \(worst.conf), mask IoU \(worst.maskIoU), outline IoU \(worst.outlineIoU)")
        XCTAssertLessThan(worst.box, 0.5)
        XCTAssertLessThan(worst.conf, 1e-3)
        XCTAssertGreaterThanOrEqual(worst.maskIoU, 0.95)
        XCTAssertGreaterThanOrEqual(worst.outlineIoU, 0.95)
    }

    func testRetinaMasksHaveTheImageSizeAndAgreeWithTheInferenceSizeMasks() throws {
        let model = try YOLO(try Fixtures.shared("reference/\(Self.folder)/best.pt"))
        let path = try Fixtures.shared("datasets/coco8-seg/images/train/000000000030.jpg")
        let small = try XCTUnwrap(model.predict(path, imgsz: 320).first)
        let retina = try XCTUnwrap(model.predict(path, imgsz: 320, overrides: ["retina_masks": true]).first)
        let masks = try XCTUnwrap(retina.masks)
        XCTAssertEqual(masks.data.shape, [small.boxes.count, 428, 640])
        // The outlines of both, in image pixels, cover nearly the same area.
        for (a, b) in zip(try small.masks!.xy, try masks.xy) {
            let ra = try Self.rasterized(a), rb = try Self.rasterized(b)
            XCTAssertGreaterThan(iou(ra, rb), 0.9)
        }
    }

    static func rasterized(_ polygon: [SIMD2<Float>]) throws -> [UInt8] {
        let image = try Image(width: 640, height: 428, channels: 1)
        try image.fillPolygons([polygon.map { PixelPoint(x: Int32($0.x), y: Int32($0.y)) }], color: Color(gray: 1))
        return image.bytes
    }

    func testMergingOutlinesJoinsThemAtTheirClosestPoints() {
        // Two squares side by side: one path through both, bridged between their nearest corners.
        let a: [SIMD2<Float>] = [[0, 0], [0, 2], [2, 2], [2, 0]], b: [SIMD2<Float>] = [[5, 0], [5, 2], [7, 2], [7, 0]]
        let merged = mergeSegments([a, b]).flatMap { $0 }
        XCTAssertEqual(merged.count, a.count + 1 + b.count + 1)
        XCTAssertEqual(merged.first, [2, 2])  // a starts at its corner nearest b
        XCTAssertEqual(merged[5], [5, 2])  // then b from its corner nearest a
    }
}
