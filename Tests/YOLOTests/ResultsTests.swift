import Foundation
import Torch
import XCTest

@testable import YOLO

/// `Results` and `Boxes` against what the reference's `Results` gives for the same boxes (Ultralytics 8.4.190: three
/// boxes on a 640×480 image, printed by it).
final class ResultsTests: XCTestCase {
    private func sample() throws -> Results {
        let rows: [Float] = [100.123456789, 50, 150, 100, 0.9, 0, 200, 150, 300, 250, 0.8, 1, 1, 2, 3, 4, 0.7, 0]
        let boxes = try Boxes(Tensor(rows, shape: [3, 6]), originalShape: (height: 480, width: 640))
        return Results(path: "a.jpg", boxes: boxes, names: [0: "person", 1: "bus", 2: "traffic light"])
    }

    func testBoxViewsMatchReference() throws {
        let boxes = try sample().boxes
        XCTAssertEqual(boxes.count, 3)
        assertEqual(boxes.xyxy, [[100.12345886230469, 50, 150, 100], [200, 150, 300, 250], [1, 2, 3, 4]])
        assertEqual(boxes.xywh, [[125.06172943115234, 75, 49.87654113769531, 50], [250, 200, 100, 100], [2, 3, 2, 2]])
        assertEqual(
            boxes.xyxyn,
            [
                [0.15644291043281555, 0.1041666641831398, 0.234375, 0.2083333283662796],
                [0.3125, 0.3125, 0.46875, 0.5208333134651184],
                [0.0015625000232830644, 0.004166666883975267, 0.004687500186264515, 0.008333333767950535],
            ])
        assertEqual(
            boxes.xywhn,
            [
                [0.19540895521640778, 0.15625, 0.07793209701776505, 0.1041666641831398],
                [0.390625, 0.4166666567325592, 0.15625, 0.2083333283662796],
                [0.0031250000465661287, 0.0062500000931322575, 0.0031250000465661287, 0.004166666883975267],
            ])
        XCTAssertEqual(boxes.conf.map(Double.init), [0.8999999761581421, 0.800000011920929, 0.699999988079071])
        XCTAssertEqual(boxes.cls, [0, 1, 0])
        XCTAssertEqual(try boxes.tensor().shape, [3, 6])
    }

    /// Exact float32 equality: the same operations in the same precision give the same bits.
    private func assertEqual(_ a: [[Float]], _ b: [[Double]], line: UInt = #line) {
        XCTAssertEqual(a.map { $0.map(Double.init) }, b, line: line)
    }

    func testJSONAndSummaryMatchReference() throws {
        let result = try sample()
        XCTAssertEqual(
            result.toJSON(),
            #"[{"name":"person","class":0,"confidence":0.9,"box":{"x1":100.12346,"y1":50.0,"x2":150.0,"y2":100.0}},"#
                + #"{"name":"bus","class":1,"confidence":0.8,"box":{"x1":200.0,"y1":150.0,"x2":300.0,"y2":250.0}},"#
                + #"{"name":"person","class":0,"confidence":0.7,"box":{"x1":1.0,"y1":2.0,"x2":3.0,"y2":4.0}}]"#)
        XCTAssertEqual(
            result.toJSON(normalize: true, decimals: 3),
            #"[{"name":"person","class":0,"confidence":0.9,"box":{"x1":0.156,"y1":0.104,"x2":0.234,"y2":0.208}},"#
                + #"{"name":"bus","class":1,"confidence":0.8,"box":{"x1":0.312,"y1":0.312,"x2":0.469,"y2":0.521}},"#
                + #"{"name":"person","class":0,"confidence":0.7,"box":{"x1":0.002,"y1":0.004,"x2":0.005,"y2":0.008}}]"#)
        // valid JSON, readable back
        let parsed = try JSONSerialization.jsonObject(with: Data(result.toJSON().utf8)) as? [[String: Any]]
        XCTAssertEqual(parsed?.count, 3)
        let bus = DetectionSummary(name: "bus", classIndex: 1, confidence: 0.8, x1: 200, y1: 150, x2: 300, y2: 250)
        XCTAssertEqual(result.summary()[1], bus)
    }

    func testVerboseAndTextLinesMatchReference() throws {
        let result = try sample()
        XCTAssertEqual(result.verbose, "2 persons, 1 bus, ")
        XCTAssertEqual(
            result.textLines(includeConfidence: true),
            ["0 0.195409 0.15625 0.0779321 0.104167 0.9", "1 0.390625 0.416667 0.15625 0.208333 0.8",
             "0 0.003125 0.00625 0.003125 0.00416667 0.7"])
        XCTAssertEqual(result.textLines().first, "0 0.195409 0.15625 0.0779321 0.104167")
    }

    func testEmptyResults() throws {
        let none = try Boxes(Tensor.zeros([0, 6]), originalShape: (480, 640))
        let empty = Results(path: "b.jpg", boxes: none, names: [0: "a"])
        XCTAssertEqual(empty.verbose, "(no detections), ")
        XCTAssertEqual(empty.toJSON(), "[]")
        XCTAssertEqual(empty.boxes.xywhn, [])
        XCTAssertEqual(try empty.boxes.tensor().shape, [0, 6])
        XCTAssertThrowsError(try Boxes(Tensor.zeros([2, 4]), originalShape: (480, 640)))
    }

    func testNamesWithQuotesStayValidJSON() throws {
        let boxes = Boxes([Detection(box: BoundingBox(x1: 0, y1: 0, x2: 1, y2: 1), confidence: 0.5, classIndex: 0)],
                          originalShape: (10, 10))
        let json = Results(path: "c.jpg", boxes: boxes, names: [0: "a \"b\"\\c"]).toJSON()
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        XCTAssertEqual(parsed?.first?["name"] as? String, "a \"b\"\\c")
    }
}
