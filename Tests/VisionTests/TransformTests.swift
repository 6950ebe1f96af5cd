import Foundation
import Vision
import XCTest

final class TransformTests: XCTestCase {
    /// A 4x4 one-channel image whose 2x2 blocks average to 25, 65, 105, 145.
    func blocks() throws -> Image {
        let rows: [[UInt8]] = [[10, 20, 50, 60], [30, 40, 70, 80], [90, 100, 130, 140], [110, 120, 150, 160]]
        return try Image(bytes: rows.flatMap { $0 }, width: 4, height: 4, channels: 1)
    }

    func testResizeNearestRepeatsPixels() throws {
        let image = try Image(bytes: [1, 2, 3, 4], width: 2, height: 2, channels: 1)
        let big = try image.resized(width: 4, height: 4, interpolation: .nearest)
        XCTAssertEqual(big.bytes, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
    }

    func testResizeHalfAveragesBlocks() throws {
        for interpolation in [Interpolation.linear, .area] {
            let small = try blocks().resized(width: 2, height: 2, interpolation: interpolation)
            XCTAssertEqual(small.bytes, [25, 65, 105, 145], "\(interpolation)")
        }
        let cubic = try blocks().resized(width: 8, height: 8, interpolation: .cubic)
        XCTAssertEqual([cubic.width, cubic.height, cubic.channels], [8, 8, 1])
        XCTAssertThrowsError(try blocks().resized(width: 0, height: 2))
    }

    func testPaddedAddsConstantBorders() throws {
        let image = try Image(width: 3, height: 2, fill: 7)
        let padded = try image.padded(top: 1, bottom: 2, left: 3, right: 4, value: 114)
        XCTAssertEqual([padded.width, padded.height], [10, 5])
        for y in 0 ..< 5 {
            for x in 0 ..< 10 {
                let inside = (3 ..< 6).contains(x) && (1 ..< 3).contains(y)
                XCTAssertEqual(padded.pixel(x: x, y: y), inside ? [7, 7, 7] : [114, 114, 114], "(\(x), \(y))")
            }
        }
        let colored = try image.padded(left: 1, value: Color(b: 1, g: 2, r: 3))
        XCTAssertEqual(colored.pixel(x: 0, y: 0), [1, 2, 3])
    }

    func testWarpAffineIdentityAndTranslation() throws {
        let image = try pattern(width: 6, height: 5)
        XCTAssertEqual(try image.warpAffine([1, 0, 0, 0, 1, 0], width: 6, height: 5).bytes, image.bytes)
        let moved = try image.warpAffine([1, 0, 2, 0, 1, 1], width: 6, height: 5, border: 114)
        try assertTranslated(moved, from: image, dx: 2, dy: 1)
        XCTAssertThrowsError(try image.warpAffine([1, 0, 0], width: 6, height: 5))
    }

    func testWarpPerspectiveIdentityAndTranslation() throws {
        let image = try pattern(width: 6, height: 5)
        let identity: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        XCTAssertEqual(try image.warpPerspective(identity, width: 6, height: 5).bytes, image.bytes)
        let moved = try image.warpPerspective([1, 0, 2, 0, 1, 1, 0, 0, 1], width: 6, height: 5, border: 114)
        try assertTranslated(moved, from: image, dx: 2, dy: 1)
    }

    func assertTranslated(_ moved: Image, from image: Image, dx: Int, dy: Int) throws {
        for y in 0 ..< image.height {
            for x in 0 ..< image.width {
                let expected = x >= dx && y >= dy ? image.pixel(x: x - dx, y: y - dy) : [114, 114, 114]
                XCTAssertEqual(moved.pixel(x: x, y: y), expected, "(\(x), \(y))")
            }
        }
    }

    func testBGRToRGBSwapsChannels() throws {
        let image = try Image(bytes: [1, 2, 3, 4, 5, 6], width: 2, height: 1)
        let rgb = try image.converted(to: .bgrToRGB)
        XCTAssertEqual(rgb.bytes, [3, 2, 1, 6, 5, 4])
        XCTAssertEqual(try rgb.converted(to: .rgbToBGR).bytes, image.bytes)
    }

    func testGrayAndHSVConversions() throws {
        // Pure blue, green, red.
        let image = try Image(bytes: [255, 0, 0, 0, 255, 0, 0, 0, 255], width: 3, height: 1)
        let gray = try image.converted(to: .bgrToGray)
        XCTAssertEqual(gray.bytes, [29, 150, 76])  // 0.114 B, 0.587 G, 0.299 R
        XCTAssertEqual(try gray.converted(to: .grayToBGR).bytes, [29, 29, 29, 150, 150, 150, 76, 76, 76])
        let hsv = try image.converted(to: .bgrToHSV)
        XCTAssertEqual(hsv.bytes, [120, 255, 255, 60, 255, 255, 0, 255, 255])  // hue in degrees / 2
        XCTAssertEqual(try hsv.converted(to: .hsvToBGR).bytes, image.bytes)
        XCTAssertEqual(try image.converted(to: .bgrToBGRA).channels, 4)
        XCTAssertThrowsError(try gray.converted(to: .bgrToHSV)) { XCTAssertTrue($0 is VisionError) }
    }

    func testLUTIdentityOnHSVIsIdentity() throws {
        let hsv = try pattern(width: 8, height: 6).converted(to: .bgrToHSV)
        let identity = (0 ... 255).map { UInt8($0) }
        XCTAssertEqual(try hsv.lut([identity, identity, identity]).bytes, hsv.bytes)
    }

    func testLUTMapsEachChannelThroughItsTable() throws {
        let image = try pattern(width: 5, height: 4)
        let tables: [[UInt8]] = [(0 ... 255).map { UInt8(($0 + 1) % 256) }, (0 ... 255).map { UInt8(255 - $0) },
                                 Array(repeating: 9, count: 256)]
        let mapped = try image.lut(tables)
        for (i, (out, original)) in zip(mapped.bytes, image.bytes).enumerated() {
            XCTAssertEqual(out, tables[i % 3][Int(original)])
        }
        XCTAssertEqual(Set(try image.lut([Array(repeating: 3, count: 256)]).bytes), [3])
        XCTAssertThrowsError(try image.lut([tables[0], tables[1]]))
        XCTAssertThrowsError(try image.lut([[1, 2, 3]]))
    }

    func testFlips() throws {
        let image = try pattern(width: 5, height: 3)
        let mirrored = try image.flipped(horizontal: true)
        XCTAssertEqual(mirrored.pixel(x: 0, y: 1), image.pixel(x: 4, y: 1))
        let upsideDown = try image.flipped(vertical: true)
        XCTAssertEqual(upsideDown.pixel(x: 1, y: 0), image.pixel(x: 1, y: 2))
        let both = try image.flipped(horizontal: true, vertical: true)
        XCTAssertEqual(both.pixel(x: 0, y: 0), image.pixel(x: 4, y: 2))
        XCTAssertEqual(try mirrored.flipped(horizontal: true).bytes, image.bytes)
        XCTAssertEqual(try upsideDown.flipped(vertical: true).bytes, image.bytes)
    }

    func testCropAndPaste() throws {
        let image = try pattern(width: 6, height: 5)
        let crop = try image.cropped(x: 2, y: 1, width: 3, height: 2)
        XCTAssertEqual([crop.width, crop.height], [3, 2])
        XCTAssertEqual(crop.pixel(x: 2, y: 1), image.pixel(x: 4, y: 2))
        XCTAssertThrowsError(try image.cropped(x: 4, y: 0, width: 3, height: 1)) {
            XCTAssertTrue("\($0)".contains("not inside"), "\($0)")
        }

        let canvas = try Image(width: 5, height: 4, fill: 114)
        try canvas.paste(crop, x: 1, y: 2)
        XCTAssertEqual(canvas.pixel(x: 1, y: 2), crop.pixel(x: 0, y: 0))
        XCTAssertEqual(canvas.pixel(x: 3, y: 3), crop.pixel(x: 2, y: 1))
        XCTAssertEqual(canvas.pixel(x: 0, y: 2), [114, 114, 114])
        try canvas.paste(image, x: 0, y: 0, region: (x: 5, y: 4, width: 1, height: 1))
        XCTAssertEqual(canvas.pixel(x: 0, y: 0), image.pixel(x: 5, y: 4))
        XCTAssertThrowsError(try canvas.paste(crop, x: 3, y: 3))
        XCTAssertThrowsError(try canvas.paste(try Image(width: 1, height: 1, channels: 1), x: 0, y: 0))
    }

    func testPasteWithinOneImageHandlesOverlap() throws {
        let image = try pattern(width: 4, height: 4, channels: 1)
        let before = image.bytes
        try image.paste(image, x: 0, y: 1, region: (x: 0, y: 0, width: 4, height: 3))
        XCTAssertEqual(Array(image.bytes[4...]), Array(before[..<12]))
    }

    /// The reference's LetterBox(new_shape=640, auto=False) on bus.jpg, to within a grey level per pixel.
    func testLetterboxMatchesReference() throws {
        let image = try Image(contentsOf: try SharedFixtures.path("assets/bus.jpg"))
        let fixture = try Data(contentsOf: URL(fileURLWithPath:
            try SharedFixtures.path("reference/yolov8n-coco8/letterbox_640_bgr.u8")))
        XCTAssertEqual(fixture.count, 640 * 640 * 3)

        let r = min(640 / Double(image.height), 640 / Double(image.width))
        let (w, h) = (Int((Double(image.width) * r).rounded(.toNearestOrEven)),
                      Int((Double(image.height) * r).rounded(.toNearestOrEven)))
        let (dw, dh) = (Double(640 - w) / 2, Double(640 - h) / 2)
        func round(_ v: Double) -> Int { Int(v.rounded(.toNearestOrEven)) }  // Python's round
        let letterboxed = try image.resized(width: w, height: h, interpolation: .linear).padded(
            top: round(dh - 0.1), bottom: round(dh + 0.1), left: round(dw - 0.1), right: round(dw + 0.1),
            value: 114)
        XCTAssertEqual([letterboxed.width, letterboxed.height, letterboxed.channels], [640, 640, 3])
        let diff = zip(letterboxed.bytes, fixture).map { abs(Int($0) - Int($1)) }.max() ?? .max
        XCTAssertLessThanOrEqual(diff, 1)
    }
}
