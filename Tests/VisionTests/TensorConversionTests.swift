import Foundation
import Torch
import Vision
import XCTest

final class TensorConversionTests: XCTestCase {
    /// 2x2 BGR: (b, g, r) = (0, 51, 255), (255, 0, 102), (10, 20, 30), (204, 153, 0).
    func sample() throws -> Image {
        try Image(bytes: [0, 51, 255, 255, 0, 102, 10, 20, 30, 204, 153, 0], width: 2, height: 2)
    }

    func testTensorIsRGBNCHWInUnitRange() throws {
        let t = try sample().tensor()
        XCTAssertEqual(t.shape, [1, 3, 2, 2])
        XCTAssertEqual(t.dtype, .float32)
        let expected: [Float] = [255, 102, 30, 0, 51, 0, 20, 153, 0, 255, 10, 204].map { $0 / 255 }
        XCTAssertEqual(try t.toArray(Float.self), expected)
        let bgr = try sample().tensor(rgb: false)
        XCTAssertEqual(try bgr.toArray(Float.self), [0, 255, 10, 204, 51, 0, 20, 153, 255, 102, 30, 0].map { $0 / 255 })
    }

    func testTensorRoundTripsExactly() throws {
        let image = try sample()
        XCTAssertEqual(try Image(tensor: try image.tensor()).bytes, image.bytes)
        XCTAssertEqual(try Image(tensor: try image.tensor().squeeze(0)).bytes, image.bytes)
        XCTAssertEqual(try Image(tensor: try image.tensor(rgb: false), rgb: false).bytes, image.bytes)
        let big = try pattern(width: 17, height: 9)
        XCTAssertEqual(try Image(tensor: try big.tensor()).bytes, big.bytes)
    }

    func testFloatTensorIsRoundedAndClamped() throws {
        // RGB planes of a 1x2 image: values beyond [0, 1] clamp; 0.5 * 255 = 127.5 rounds half to even.
        let t = try Tensor([Float(1.5), -0.2, 0.5, 0.1, 0, 1], shape: [3, 1, 2])
        let image = try Image(tensor: t)
        XCTAssertEqual(image.bytes, [0, 128, 255, 255, 26, 0])  // BGR per pixel
    }

    func testHWCTensorRoundTrip() throws {
        let image = try pattern(width: 3, height: 2)
        let hwc = try image.hwcTensor()
        XCTAssertEqual(hwc.shape, [2, 3, 3])
        XCTAssertEqual(hwc.dtype, .uint8)
        XCTAssertEqual(try hwc.toArray(UInt8.self), image.bytes)
        XCTAssertEqual(try Image(tensor: hwc).bytes, image.bytes)
    }

    func testBadTensorsThrow() throws {
        XCTAssertThrowsError(try Image(tensor: try Tensor([Float](repeating: 0, count: 8), shape: [2, 2, 2])))
        XCTAssertThrowsError(try Image(tensor: try Tensor([Int32](repeating: 0, count: 12), shape: [3, 2, 2])))
        XCTAssertThrowsError(try Image(tensor: try Tensor([UInt8](repeating: 0, count: 8), shape: [2, 2, 2])))
        XCTAssertThrowsError(try Image(width: 2, height: 2, channels: 1).tensor()) { XCTAssertTrue($0 is VisionError) }
    }

    /// The reference's model input for bus.jpg is its letterbox as RGB / 255 (both fixtures from one run).
    func testLetterboxTensorMatchesReferenceInput() throws {
        let letterbox = try Data(contentsOf: URL(fileURLWithPath:
            try SharedFixtures.path("reference/yolov8n-coco8/letterbox_640_bgr.u8")))
        let input = try Data(contentsOf: URL(fileURLWithPath:
            try SharedFixtures.path("reference/yolov8n-coco8/forward_input.f32")))
        let image = try Image(bytes: [UInt8](letterbox), width: 640, height: 640)
        let expected = input.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(try image.tensor().toArray(Float.self), expected)
    }
}
