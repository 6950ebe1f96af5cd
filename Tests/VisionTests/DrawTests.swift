import Vision
import XCTest

final class DrawTests: XCTestCase {
    /// Points whose pixel differs between two images of one size.
    func changed(_ a: Image, _ b: Image) -> Set<[Int]> {
        var points = Set<[Int]>()
        for y in 0 ..< a.height {
            for x in 0 ..< a.width where a.pixel(x: x, y: y) != b.pixel(x: x, y: y) { points.insert([x, y]) }
        }
        return points
    }

    func testRectangleChangesExactlyItsOutline() throws {
        let blank = try Image(width: 10, height: 8)
        let image = try blank.copy()
        try image.drawRectangle(x1: 2, y1: 1, x2: 6, y2: 5, color: Color(b: 0, g: 0, r: 255), antialiased: false)
        var outline = Set<[Int]>()
        for x in 2 ... 6 { outline.formUnion([[x, 1], [x, 5]]) }
        for y in 1 ... 5 { outline.formUnion([[2, y], [6, y]]) }
        XCTAssertEqual(changed(image, blank), outline)
        XCTAssertEqual(image.pixel(x: 2, y: 3), [0, 0, 255])
    }

    func testFilledRectangleChangesExactlyItsArea() throws {
        let blank = try Image(width: 10, height: 8)
        let image = try blank.copy()
        try image.fillRectangle(x1: 3, y1: 2, x2: 5, y2: 6, color: 200)
        let area = Set((3 ... 5).flatMap { x in (2 ... 6).map { [x, $0] } })
        XCTAssertEqual(changed(image, blank), area)
    }

    func testAntialiasedRectangleStaysNearItsOutline() throws {
        let blank = try Image(width: 20, height: 20)
        let image = try blank.copy()
        try image.drawRectangle(x1: 5, y1: 5, x2: 14, y2: 14, color: 255, thickness: 2)
        let points = changed(image, blank)
        XCTAssertTrue(points.contains([5, 10]) && points.contains([14, 5]))
        for p in points {  // a thick anti-aliased line bleeds about its thickness either side
            let inner = (8 ... 11).contains(p[0]) && (8 ... 11).contains(p[1])
            let outer = (2 ... 17).contains(p[0]) && (2 ... 17).contains(p[1])
            XCTAssertTrue(outer && !inner, "\(p)")
        }
    }

    func testTextDrawsInsideItsMeasuredBox() throws {
        let size = try Image.textSize("person 0.87", scale: 0.5, thickness: 1)
        XCTAssertGreaterThan(size.width, size.height)
        XCTAssertGreaterThan(size.height, 0)
        XCTAssertLessThan(try Image.textSize("person", scale: 0.5).width, size.width)
        let blank = try Image(width: size.width + 20, height: size.height + size.baseline + 20)
        let image = try blank.copy()
        let (x, y) = (10, 10 + size.height)
        try image.drawText("person 0.87", x: x, y: y, scale: 0.5, color: 255)
        let points = changed(image, blank)
        XCTAssertGreaterThan(points.count, 20)
        for p in points {
            XCTAssertTrue((x - 1 ... x + size.width + 1).contains(p[0]), "\(p)")
            XCTAssertTrue((y - size.height - 1 ... y + size.baseline + 1).contains(p[1]), "\(p)")
        }
    }

    func testDrawingPartlyOutsideIsClipped() throws {
        let image = try Image(width: 4, height: 4)
        try image.drawRectangle(x1: -5, y1: -5, x2: 1, y2: 1, color: 255, antialiased: false)
        try image.drawText("far away", x: 100, y: 100, color: 255)
        XCTAssertEqual(image.pixel(x: 1, y: 0), [255, 255, 255])
        XCTAssertEqual(image.pixel(x: 0, y: 0), [0, 0, 0])
    }
}
