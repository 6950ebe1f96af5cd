import Foundation
import Vision
import XCTest

final class ImageIOTests: XCTestCase {
    func testDecodeBusHasReferenceSize() throws {
        let image = try Image(contentsOf: try SharedFixtures.path("assets/bus.jpg"))
        XCTAssertEqual([image.width, image.height, image.channels], [810, 1080, 3])
        XCTAssertEqual(image.bytes.count, 810 * 1080 * 3)
    }

    func testDecodeZidaneFromData() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try SharedFixtures.path("assets/zidane.jpg")))
        let image = try Image(data: data)
        XCTAssertEqual([image.width, image.height, image.channels], [1280, 720, 3])
    }

    func testCreateWithFillAndFromBytes() throws {
        let filled = try Image(width: 2, height: 3, fill: Color(b: 1, g: 2, r: 3))
        XCTAssertEqual([filled.width, filled.height, filled.channels], [2, 3, 3])
        XCTAssertEqual(filled.bytes, Array(repeating: [1, 2, 3], count: 6).flatMap { $0 })
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6]
        let image = try Image(bytes: bytes, width: 2, height: 1)
        XCTAssertEqual(image.bytes, bytes)
        XCTAssertEqual(image.pixel(x: 1, y: 0), [4, 5, 6])
        XCTAssertThrowsError(try Image(bytes: bytes, width: 2, height: 2))
    }

    func testCopyIsIndependent() throws {
        let image = try Image(width: 2, height: 2, fill: 5)
        let copy = try image.copy()
        try image.fillRectangle(x1: 0, y1: 0, x2: 1, y2: 1, color: 9)
        XCTAssertEqual(Set(copy.bytes), [5])
        XCTAssertEqual(Set(image.bytes), [9])
    }

    func testPNGAndBMPRoundTripsAreExact() throws {
        for channels in [1, 3, 4] {
            let image = try pattern(width: 7, height: 5, channels: channels)
            for ext in channels == 4 ? [".png"] : [".png", ".bmp"] {  // OpenCV's BMP drops alpha
                let decoded = try Image(data: try image.encoded(as: ext), mode: .unchanged)
                XCTAssertEqual(decoded.channels, channels, "\(ext) \(channels)")
                XCTAssertEqual(decoded.bytes, image.bytes, "\(ext) \(channels) channels")
            }
        }
    }

    func testJPEGAndWebPRoundTripsAreClose() throws {
        let image = try Image(width: 32, height: 24, fill: Color(b: 200, g: 100, r: 50))
        for ext in [".jpg", ".webp"] {
            let decoded = try Image(data: try image.encoded(as: ext, quality: 95))
            XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [32, 24, 3])
            let diff = zip(decoded.bytes, image.bytes).map { abs(Int($0) - Int($1)) }.max()!
            XCTAssertLessThanOrEqual(diff, 3, ext)
        }
    }

    func testColorModeMakesThreeChannelsFromGrayAndAlpha() throws {
        let gray = try pattern(width: 4, height: 3, channels: 1)
        let asColor = try Image(data: try gray.encoded(as: ".png"))
        XCTAssertEqual(asColor.channels, 3)
        XCTAssertEqual(asColor.pixel(x: 2, y: 1), Array(repeating: gray.pixel(x: 2, y: 1)[0], count: 3))
        XCTAssertEqual(try Image(data: try gray.encoded(as: ".png"), mode: .unchanged).channels, 1)

        let rgba = try pattern(width: 4, height: 3, channels: 4)
        let dropped = try Image(data: try rgba.encoded(as: ".png"))
        XCTAssertEqual(dropped.channels, 3)
        XCTAssertEqual(dropped.pixel(x: 3, y: 2), Array(rgba.pixel(x: 3, y: 2).prefix(3)))
        let grayscale = try Image(data: try rgba.encoded(as: ".png"), mode: .grayscale)
        XCTAssertEqual(grayscale.channels, 1)
    }

    func testWriteThenReadBackLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory(self)
        let image = try pattern(width: 9, height: 4)
        let path = dir.appendingPathComponent("out.png").path
        try image.write(to: path)
        XCTAssertEqual(try Image(contentsOf: path).bytes, image.bytes)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])
    }

    func testWriteFailuresNameThePath() throws {
        let dir = try temporaryDirectory(self)
        let image = try pattern(width: 3, height: 3)
        for path in [dir.appendingPathComponent("x.unknownext").path, dir.appendingPathComponent("noext").path,
                     dir.appendingPathComponent("missing/dir/x.png").path] {
            XCTAssertThrowsError(try image.write(to: path)) { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
        XCTAssertThrowsError(try image.encoded(as: ".nope")) { XCTAssertTrue("\($0)".contains(".nope"), "\($0)") }
    }

    func testMissingFileThrowsNamingPath() throws {
        let path = "/nonexistent/dir/missing-\(UUID().uuidString).jpg"
        XCTAssertThrowsError(try Image(contentsOf: path)) { error in
            XCTAssertTrue(error is VisionError)
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("No such file"), "\(error)")
        }
    }

    func testCorruptFilesThrowNamingPath() throws {
        let dir = try temporaryDirectory(self)
        var generator = SystemRandomNumberGenerator()
        let random = (0 ..< 4096).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        // A JPEG cut inside its header: OpenCV cannot decode it.
        let jpeg = try pattern(width: 64, height: 48).encoded(as: ".jpg")
        let cases = ["random.jpg": random, "truncated.jpg": Array(jpeg.prefix(300)), "empty.png": []]
        for (name, bytes) in cases {
            let path = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Image(contentsOf: path), name) { error in
                XCTAssertTrue(error is VisionError)
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
        XCTAssertThrowsError(try Image(data: random)) { XCTAssertTrue($0 is VisionError) }
        // The process lives on: a good image still decodes.
        XCTAssertEqual(try Image(data: jpeg).width, 64)
    }

    func testJPEGCutInsideScanDataDecodesAsOpenCVDoes() throws {
        // cv2.imread accepts a JPEG cut after its header (libjpeg fills the rest grey); so do we.
        let jpeg = try pattern(width: 64, height: 48).encoded(as: ".jpg")
        let image = try Image(data: Array(jpeg.prefix(jpeg.count * 3 / 4)))
        XCTAssertEqual([image.width, image.height], [64, 48])
    }
}
