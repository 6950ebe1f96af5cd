import Foundation
import Torch
import XCTest

@testable import YOLO

final class MetricsTests: XCTestCase {
    // MARK: Parity with the reference

    /// `expected.metrics`: the reference's P, R, mAP50, mAP50-95 and per-class AP50-95 for jittered detections on
    /// the four coco8 validation images, within 1e-6.
    func testMetricsMatchReference() throws {
        let reference = try Fixtures.expected("metrics", as: [String: Any].self)
        let truth = try XCTUnwrap(reference["ground_truth"] as? [[String: Any]])
        let detections = try XCTUnwrap(reference["detections"] as? [[String: Any]])
        XCTAssertEqual(truth.count, detections.count)

        var metrics = DetectionMetrics(names: Dictionary(uniqueKeysWithValues: (0..<80).map { ($0, "class\($0)") }))
        for (image, found) in zip(truth, detections) {
            XCTAssertEqual(image["image"] as? String, found["image"] as? String)
            let objects = (image["boxes_xyxy_cls"] as! [[Double]]).map {
                LabeledBox(box: box($0), classIndex: Int($0[4]))
            }
            let predictions = (found["detections_xyxy_conf_cls"] as! [[Double]]).map {
                Detection(box: box($0), confidence: Float($0[4]), classIndex: Int($0[5]))
            }
            metrics.update(predictions: predictions, groundTruth: objects, imageName: image["image"] as? String)
        }
        let results = metrics.compute()

        var errors = [String: Double]()
        for (key, ours) in [
            ("precision", results.precision), ("recall", results.recall), ("mAP50", results.map50),
            ("mAP50-95", results.map),
        ] {
            let theirs = try XCTUnwrap(reference[key] as? Double)
            errors[key] = abs(ours - theirs)
            XCTAssertEqual(ours, theirs, accuracy: 1e-6, key)
        }
        let perClass = try XCTUnwrap(reference["per_class_ap50_95"] as? [String: Double])
        XCTAssertEqual(results.perClass.classes.map(String.init), perClass.keys.sorted { Int($0)! < Int($1)! })
        for (c, ap) in zip(results.perClass.classes, results.classAP) {
            let theirs = try XCTUnwrap(perClass[String(c)])
            errors["AP50-95 class \(c)"] = abs(ap - theirs)
            XCTAssertEqual(ap, theirs, accuracy: 1e-6, "class \(c)")
        }
        print("metrics vs reference, max |error|: \(errors.values.max()!) (\(errors.sorted { $0.key < $1.key }))")
        XCTAssertEqual(results.fitness, results.map)
        XCTAssertEqual(metrics.imageCount, 4)
        XCTAssertEqual(metrics.imageMetrics.count, 4)

        // For information only: COCO's own evaluator scores the same detections a little differently (it reads
        // precision at 101 recall points by look-up rather than interpolation, and keeps 100 detections per image);
        // we follow the reference, not pycocotools.
        let coco = reference["pycocotools"] as? [String: Double]
        if let map50 = coco?["mAP50"], let map = coco?["mAP50-95"] {
            print("pycocotools mAP50 \(map50) mAP50-95 \(map); ours \(results.map50) \(results.map)")
        }
    }

    private func box(_ v: [Double]) -> BoundingBox {
        // float32, as the reference's tensors: the nearest float to each double
        BoundingBox(x1: Float(v[0]), y1: Float(v[1]), x2: Float(v[2]), y2: Float(v[3]))
    }

    /// `ap_per_class` on a hand-made set, against numbers printed by the reference (Ultralytics 8.4.190, NumPy 1.26):
    /// classes 0 and 1 have interpolated P/R curves, class 2 has predictions but no labels (ignored), class 3 labels
    /// but no predictions (zeros).
    func testAPPerClassMatchesReferenceOnHandMadeCase() {
        let iou: [Float] = [0.96, 0.0, 0.73, 0.81, 0.52, 0.0, 0.0, 0.9]
        let tp = iou.map { v in mapIoUThresholds.map { v >= $0 } }
        let result = apPerClass(
            truePositives: tp, confidence: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.05],
            predictedClasses: [0, 0, 1, 0, 1, 2, 1, 0], targetClasses: [0, 0, 0, 0, 1, 1, 3])
        XCTAssertEqual(result.classes, [0, 1, 3])
        XCTAssertEqual(result.targetCounts, [4, 2, 1])
        assertClose(result.truePositives, [2, 2, 0])
        assertClose(result.falsePositives, [1, 0, 0])
        assertClose(result.precision, [0.6855340216874357, 0.959125790022833, 0])
        assertClose(result.recall, [0.5566020650623074, 1.0, 0])
        assertClose(result.f1, [0.6143765666451833, 0.9791365055856415, 0])
        assertClose(result.ap[0], [0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.62, 0.37, 0.37, 0.245])
        assertClose(result.ap[1], [0.995, 0.495, 0.495, 0.495, 0.495, 0, 0, 0, 0, 0])
        assertClose(result.ap[2], [Double](repeating: 0, count: 10))
        XCTAssertEqual(result.curves.x.count, 1000)
        XCTAssertEqual(result.curves.precision.map(\.count), [1000, 1000, 1000])
        XCTAssertEqual(result.curves.precisionAtRecall.map(\.count), [1000, 1000, 1000])
    }

    private func assertClose(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-12, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: tolerance, "\(a) vs \(b)", line: line) }
    }

    // MARK: Building blocks

    func testBoxIoU() {
        let a = BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10)
        let iou = boxIoU(
            [a], [a, BoundingBox(x1: 5, y1: 0, x2: 15, y2: 10), BoundingBox(x1: 20, y1: 20, x2: 30, y2: 30),
                  BoundingBox(x1: 2, y1: 2, x2: 4, y2: 4)])
        XCTAssertEqual(iou.count, 1)
        XCTAssertEqual(iou[0][0], 100 / (100 + 1e-7), accuracy: 1e-7)  // eps keeps degenerate boxes finite
        XCTAssertEqual(iou[0][1], 50.0 / 150.0, accuracy: 1e-6)
        XCTAssertEqual(iou[0][2], 0)
        XCTAssertEqual(iou[0][3], 4.0 / 100.0, accuracy: 1e-7)  // contained
        let point = BoundingBox(x1: 1, y1: 1, x2: 1, y2: 1)
        XCTAssertEqual(boxIoU([point], [point])[0][0], 0)
        XCTAssertEqual(boxIoU([], [a]).count, 0)
    }

    /// Greedy unique matching: the more confident prediction claims the object; the class must agree; each
    /// threshold is matched on its own.
    func testMatchPredictions() {
        // one object of class 0; predictions (by confidence): a 0.72 IoU duplicate-free hit, a second hit on the same
        // object, a wrong-class hit
        let iou: [[Float]] = [[0.72, 0.9, 0.95]]
        let correct = matchPredictions(predictedClasses: [0, 0, 1], trueClasses: [0], iou: iou)
        // thresholds 0.5...0.7: the first prediction claims the object; 0.75...0.9: it is too weak, so the second does
        XCTAssertEqual(correct[0], [true, true, true, true, true, false, false, false, false, false])
        XCTAssertEqual(correct[1], [false, false, false, false, false, true, true, true, true, false])
        XCTAssertEqual(correct[2], [Bool](repeating: false, count: 10))
        // two objects, one prediction overlapping both: it takes the better one only
        let two = matchPredictions(predictedClasses: [3, 3], trueClasses: [3, 3], iou: [[0.6, 0.55], [0.8, 0.3]])
        XCTAssertEqual(two[0].prefix(7), [true, true, true, true, true, true, true])  // object 1 at 0.8
        XCTAssertEqual(two[1].prefix(3), [true, true, false])  // object 0 at 0.55
        XCTAssertEqual(matchPredictions(predictedClasses: [], trueClasses: [1], iou: [[]]), [])
        let unmatched = matchPredictions(predictedClasses: [1], trueClasses: [], iou: [])
        XCTAssertEqual(unmatched, [[Bool](repeating: false, count: 10)])
    }

    func testComputeAPOfSimpleCurves() {
        // a perfect detector: the reference's 101-point rule gives 0.995 (the point at recall 1 reads the sentinel)
        XCTAssertEqual(computeAP(recall: [1], precision: [1]).ap, 0.995, accuracy: 1e-12)
        // one hit then one miss, two objects: precision 1 up to recall 0.5
        XCTAssertEqual(computeAP(recall: [0.5, 0.5], precision: [1, 0.5]).ap, 0.495, accuracy: 1e-12)
        XCTAssertEqual(computeAP(recall: [0, 0], precision: [0, 0]).ap, 0, accuracy: 1e-12)
        let envelope = computeAP(recall: [0.25, 0.25, 0.5], precision: [1, 0.5, 0.67]).envelope
        XCTAssertEqual(envelope, [1, 1, 0.67, 0.67, 0, 0])
    }

    func testNumPyHelpers() {
        XCTAssertEqual(NumPy.interp([0, 0.5, 1, 1.5, 2, 3], [0, 1, 1, 2], [0, 10, 20, 30]), [0, 5, 20, 25, 30, 30])
        XCTAssertEqual(NumPy.interp([-1, 5], [0, 1], [3, 4], left: 0, right: 9), [0, 9])
        XCTAssertEqual(NumPy.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1])
        let values = (0..<300).map { Double($0) * 0.1 }
        XCTAssertEqual(NumPy.sum(values), values.reduce(0, +), accuracy: 1e-9)
        XCTAssertEqual(NumPy.argmax([1, 3, 3, 2]), 1)
        XCTAssertEqual(NumPy.argsortDescending([1, 3, 2, 3]), [1, 3, 2, 0])
        let smoothed = NumPy.smooth([0, 0, 10, 0, 0], fraction: 0.4)  // a 3-wide filter
        for (a, b) in zip(smoothed, [0, 10.0 / 3, 10.0 / 3, 10.0 / 3, 0]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    // MARK: Accumulation

    func testDetectionMetricsEdgeCases() throws {
        let names = [0: "a", 1: "b"]
        XCTAssertEqual(DetectionMetrics(names: names).compute().meanResults, [0, 0, 0, 0])
        var metrics = DetectionMetrics(names: names)
        let object = LabeledBox(box: BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10), classIndex: 1)
        metrics.update(predictions: [], groundTruth: [object], imageName: "missed.jpg")
        metrics.update(predictions: [], groundTruth: [], imageName: "empty.jpg")
        let missed = metrics.compute()
        XCTAssertEqual(missed.meanResults, [0, 0, 0, 0])
        XCTAssertEqual(missed.instancesPerClass, [0, 1])
        XCTAssertEqual(missed.imagesPerClass, [0, 1])
        XCTAssertEqual(metrics.imageMetrics["empty.jpg"]?.f1, 1)
        XCTAssertEqual(metrics.imageMetrics["missed.jpg"]?.falseNegatives, 1)

        // a perfect hit from tensors: AP 0.995 at every threshold, P and R 1
        let predictions = try Tensor([Float]([0, 0, 10, 10, 0.9, 1]), shape: [1, 6])
        let boxes = try Tensor([Float]([0, 0, 10, 10]), shape: [1, 4])
        try metrics.update(predictions: predictions, boxes: boxes, classes: Tensor([Float(1)]))
        let results = metrics.compute()
        XCTAssertEqual(results.perClass.classes, [1])
        XCTAssertEqual(results.map50, 0.495, accuracy: 1e-12)  // class 1 has 2 objects, one found
        XCTAssertEqual(results.recall, 0.5, accuracy: 1e-12)
        XCTAssertEqual(results.precision, 1, accuracy: 1e-12)
        XCTAssertEqual(results.maps, [results.map, results.classAP[0]])
        XCTAssertEqual(results.resultsDictionary.map(\.key), DetectionResults.keys + ["fitness"])
        metrics.reset()
        XCTAssertEqual(metrics.imageCount, 0)
    }

    // MARK: Confusion matrix

    /// Hand-made image, checked against the reference's `ConfusionMatrix.process_batch`.
    func testConfusionMatrixCounts() {
        var matrix = ConfusionMatrix(names: [0: "a", 1: "b"])
        func box(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float) -> BoundingBox {
            BoundingBox(x1: x1, y1: y1, x2: x2, y2: y2)
        }
        let truth = [
            LabeledBox(box: box(0, 0, 10, 10), classIndex: 0), LabeledBox(box: box(20, 20, 30, 30), classIndex: 1),
            LabeledBox(box: box(50, 50, 60, 60), classIndex: 0),
        ]
        let detections = [
            Detection(box: box(0, 0, 10, 10), confidence: 0.9, classIndex: 0),  // right
            Detection(box: box(20, 20, 30, 31), confidence: 0.8, classIndex: 0),  // an a where a b is
            Detection(box: box(100, 100, 110, 110), confidence: 0.7, classIndex: 1),  // nothing there
            Detection(box: box(50, 50, 60, 60), confidence: 0.1, classIndex: 0),  // below conf: the a is missed
            Detection(box: box(1, 0, 11, 10), confidence: 0.6, classIndex: 0),  // duplicate of the first
        ]
        matrix.process(detections: detections, groundTruth: truth)
        XCTAssertEqual(matrix.matrix, [[1, 1, 1], [0, 0, 1], [1, 0, 0]])
        XCTAssertEqual(matrix.truePositivesAndFalsePositives.tp, [1, 0])
        XCTAssertEqual(matrix.truePositivesAndFalsePositives.fp, [2, 1])
        // no ground truth: every confident detection is background; no detections: every object is missed
        matrix.process(detections: detections, groundTruth: [])
        matrix.process(detections: [], groundTruth: truth)
        XCTAssertEqual(matrix.matrix, [[1, 1, 4], [0, 0, 2], [3, 1, 0]])
        let normalized = matrix.normalized
        XCTAssertEqual(normalized[2][0], 3.0 / 4.0, accuracy: 1e-9)
        XCTAssertEqual(normalized[0][2], 4.0 / 6.0, accuracy: 1e-9)
    }
}
