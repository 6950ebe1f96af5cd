import Foundation
import Torch
import XCTest

@testable import YOLO

final class NMSTests: XCTestCase {
    // MARK: Parity with the reference

    func testPredictSettingsMatchReference() throws {
        try checkFixture(output: "nms_output_predict", settings: "nms_predict")
    }

    func testValSettingsMatchReference() throws {
        try checkFixture(output: "nms_output_val", settings: "nms_val")
    }

    /// Runs NMS on `nms_input` with the fixture's settings and compares with the reference's rows: same count, same
    /// order, coordinates and confidences within 1e-5, rows of equal confidence compared as a set.
    private func checkFixture(output: String, settings key: String) throws {
        let input = try Fixtures.floats("nms_input")
        let expected = try Fixtures.floats(output)
        let settings = try Fixtures.expected(key, as: [String: Any].self)
        let prediction = try Tensor(input.values, shape: input.shape)
        let result = try nonMaxSuppression(
            prediction: prediction, conf: settings["conf_thres"] as! Double, iou: settings["iou_thres"] as! Double,
            multiLabel: settings["multi_label"] as! Bool, maxDet: settings["max_det"] as! Int)
        XCTAssertEqual(result.count, 1)
        XCTAssertEqual(result[0].shape, expected.shape)
        let ours = rows(try result[0].toArray(Float.self)), theirs = rows(expected.values)
        guard ours.count == theirs.count else { return }

        var maxError: Float = 0, start = 0
        while start < theirs.count {  // one group of equal reference confidence at a time
            var end = start + 1
            while end < theirs.count && theirs[end][4] == theirs[start][4] { end += 1 }
            var unmatched = Array(ours[start..<end])
            for row in theirs[start..<end] {
                let errors = unmatched.map { candidate in zip(candidate, row).map { abs($0 - $1) }.max()! }
                guard let best = errors.indices.min(by: { errors[$0] < errors[$1] }) else { break }
                XCTAssertLessThanOrEqual(errors[best], 1e-5, "\(output) row \(start): \(unmatched[best]) vs \(row)")
                maxError = max(maxError, errors[best])
                unmatched.remove(at: best)
            }
            start = end
        }
        print("NMS \(output): \(ours.count) rows, max |error| \(maxError)")
    }

    private func rows(_ values: [Float]) -> [[Float]] {
        stride(from: 0, to: values.count, by: 6).map { Array(values[$0..<($0 + 6)]) }
    }

    // MARK: The kernel

    /// torchvision's semantics on a hand-made case: score order, IoU > threshold suppresses, IoU = threshold keeps.
    func testKernelGreedyOrder() throws {
        let boxes = try Tensor(
            [Float]([
                0, 0, 10, 10,  // 0: score 0.9
                1, 0, 11, 10,  // 1: IoU with 0 = 90/110 ≈ 0.818, suppressed
                20, 20, 30, 30,  // 2: alone
                0, 0, 10, 20,  // 3: IoU with 0 = 100/200 = 0.5 exactly, kept at threshold 0.5
                5, 0, 15, 10,  // 4: IoU with 0 = 50/150, with 3 = 50/250: kept
            ]), shape: [5, 4])
        let scores = try Tensor([Float]([0.9, 0.8, 0.3, 0.7, 0.75]))
        let keep = try Tensor.nms(boxes: boxes, scores: scores, iouThreshold: 0.5)
        XCTAssertEqual(try keep.toArray(Int64.self), [0, 4, 3, 2])
        XCTAssertEqual(keep.dtype, .int64)
        let strict = try Tensor.nms(boxes: boxes, scores: scores, iouThreshold: 0.4)
        XCTAssertEqual(try strict.toArray(Int64.self), [0, 4, 2])  // 3 (IoU 0.5 with 0) goes
        let empty = try Tensor.nms(boxes: Tensor.zeros([0, 4]), scores: Tensor.zeros([0]), iouThreshold: 0.5)
        XCTAssertEqual(empty.shape, [0])
    }

    /// The kernel (class buckets, early stop) against a plain transcription of torchvision's loop on offset boxes.
    func testKernelMatchesPlainGreedy() throws {
        var generator = SplitMixRandom(seed: 7)
        for spread in [Float(640), 20000] {  // boxes inside the image (class buckets), and far outside (one bucket)
            let n = 600
            var boxes = [Float](), scores = [Float](), classes = [Float]()
            for _ in 0..<n {
                let x = generator.float() * spread, y = generator.float() * 640
                let w = 10 + generator.float() * 190, h = 10 + generator.float() * 190
                boxes += [x, y, x + w, y + h]
                scores.append((generator.float() * 64).rounded() / 64)  // many ties
                classes.append(Float(Int(generator.float() * 5)))
            }
            let expected = plainGreedy(boxes: boxes, scores: scores, classes: classes, offset: 7680, threshold: 0.45)
            let keep = try Tensor.batchedNMS(
                boxes: Tensor(boxes, shape: [n, 4]), scores: Tensor(scores), classes: Tensor(classes),
                iouThreshold: 0.45, classOffset: 7680)
            XCTAssertEqual(try keep.toArray(Int64.self).map(Int.init), expected, "spread \(spread)")
            let firstTen = try Tensor.batchedNMS(
                boxes: Tensor(boxes, shape: [n, 4]), scores: Tensor(scores), classes: Tensor(classes),
                iouThreshold: 0.45, classOffset: 7680, maxKeep: 10)
            XCTAssertEqual(try firstTen.toArray(Int64.self).map(Int.init), Array(expected.prefix(10)))
            let agnostic = try Tensor.batchedNMS(
                boxes: Tensor(boxes, shape: [n, 4]), scores: Tensor(scores), classes: nil, iouThreshold: 0.45)
            XCTAssertEqual(
                try agnostic.toArray(Int64.self).map(Int.init),
                plainGreedy(boxes: boxes, scores: scores, classes: nil, offset: 0, threshold: 0.45))
        }
    }

    /// torchvision's CPU kernel, written out: offset boxes in float32, stable descending sort, every kept box
    /// suppresses every later box with IoU > threshold.
    private func plainGreedy(boxes: [Float], scores: [Float], classes: [Float]?, offset: Float, threshold: Double)
        -> [Int]
    {
        let n = scores.count
        let b = (0..<(4 * n)).map { (k: Int) -> Float in boxes[k] + (classes?[k / 4] ?? 0) * offset }
        let area = (0..<n).map { (i: Int) -> Float in
            let width = b[4 * i + 2] - b[4 * i], height = b[4 * i + 3] - b[4 * i + 1]
            return width * height
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var suppressed = [Bool](repeating: false, count: n), keep = [Int]()
        for (rank, i) in order.enumerated() where !suppressed[i] {
            keep.append(i)
            for j in order[(rank + 1)...] where !suppressed[j] {
                let w = max(0, min(b[4 * i + 2], b[4 * j + 2]) - max(b[4 * i], b[4 * j]))
                let h = max(0, min(b[4 * i + 3], b[4 * j + 3]) - max(b[4 * i + 1], b[4 * j + 1]))
                let inter = w * h
                if Double(inter / (area[i] + area[j] - inter)) > threshold { suppressed[j] = true }
            }
        }
        return keep
    }

    // MARK: The options

    /// One image, 3 classes, 4 anchors: two overlapping boxes of different classes, one weak box, one low score.
    private func smallPrediction() throws -> Tensor {
        // columns: anchors; rows: cx, cy, w, h, class 0, class 1, class 2
        let anchors: [[Float]] = [
            [50, 50, 20, 20, 0.9, 0.6, 0.0],
            [51, 50, 20, 20, 0.1, 0.8, 0.3],
            [200, 200, 40, 40, 0.0, 0.0, 0.5],
            [300, 300, 10, 10, 0.1, 0.1, 0.2],
        ]
        let channelsFirst = (0..<7).flatMap { c in anchors.map { $0[c] } }
        return try Tensor(channelsFirst, shape: [1, 7, 4])
    }

    func testOneLabelPerBoxClassAwareAndAgnostic() throws {
        let out = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.25, iou: 0.7)[0]
        XCTAssertEqual(out.shape, [3, 6])
        let rows = self.rows(try out.toArray(Float.self))
        XCTAssertEqual(rows.map { $0[5] }, [0, 1, 2])  // the overlapping pair survives: different classes
        XCTAssertEqual(rows[0], [40, 40, 60, 60, 0.9, 0])
        XCTAssertEqual(rows.map { $0[4] }, [0.9, 0.8, 0.5])
        let agnostic = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.25, iou: 0.7, agnostic: true)[0]
        XCTAssertEqual(self.rows(try agnostic.toArray(Float.self)).map { $0[5] }, [0, 2])
    }

    func testMultiLabelClassesAndMaxDet() throws {
        let all = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.25, iou: 0.7, multiLabel: true)[0]
        // (anchor 0, class 0) 0.9, (1, 1) 0.8, (0, 1) 0.6 suppressed by (1, 1), (2, 2) 0.5, (1, 2) 0.3
        let labels = rows(try all.toArray(Float.self)).map { [$0[4], $0[5]] }
        XCTAssertEqual(labels, [[0.9, 0], [0.8, 1], [0.5, 2], [0.3, 2]])
        let only = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.25, iou: 0.7, classes: [2])[0]
        XCTAssertEqual(rows(try only.toArray(Float.self)).map { $0[5] }, [2])
        let capped = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.25, iou: 0.7, maxDet: 2)[0]
        XCTAssertEqual(capped.shape, [2, 6])
        let none = try nonMaxSuppression(prediction: smallPrediction(), conf: 0.95, iou: 0.7)[0]
        XCTAssertEqual(none.shape, [0, 6])
    }

    func testBatchAndExtraChannels() throws {
        // two images; one extra channel after the classes travels with its box
        let p = try smallPrediction()
        let extra = try Tensor([Float]([7, 8, 9, 10]), shape: [1, 1, 4])
        let withExtra = try Tensor.cat([p, extra], dim: 1)
        let batch = try Tensor.cat([withExtra, withExtra.zerosLike()], dim: 0)
        let out = try nonMaxSuppression(prediction: batch, conf: 0.25, iou: 0.7, nc: 3)
        XCTAssertEqual(out.map(\.shape), [[3, 7], [0, 7]])
        XCTAssertEqual(rows(try out[0].toArray(Float.self), width: 7).map { $0[6] }, [7, 8, 9])
    }

    private func rows(_ values: [Float], width: Int) -> [[Float]] {
        stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) }
    }

    func testBadInputThrows() throws {
        XCTAssertThrowsError(try nonMaxSuppression(prediction: Tensor.zeros([84, 8400])))
        XCTAssertThrowsError(try nonMaxSuppression(prediction: smallPrediction(), conf: 1.5))
        XCTAssertThrowsError(try nonMaxSuppression(prediction: smallPrediction(), iou: -0.1))
        XCTAssertThrowsError(try Tensor.nms(boxes: Tensor.zeros([3, 5]), scores: Tensor.zeros([3]), iouThreshold: 0.5))
        XCTAssertThrowsError(try Tensor.nms(boxes: Tensor.zeros([3, 4]), scores: Tensor.zeros([2]), iouThreshold: 0.5))
    }

    // MARK: Scale

    /// 8400 anchors × 80 classes of random candidates in both modes (val mode feeds 30,000 boxes to the kernel).
    func testFullSizeRandomPrediction() throws {
        let xy = try Tensor.rand([1, 2, 8400]) * 640
        let wh = try Tensor.rand([1, 2, 8400]) * 190 + 10
        let scores = try Tensor.rand([1, 80, 8400]).pow(8)
        let prediction = try Tensor.cat([xy, wh, scores], dim: 1)
        for (conf, multiLabel) in [(0.25, false), (0.001, true)] {
            let start = Date()
            let out = try nonMaxSuppression(prediction: prediction, conf: conf, iou: 0.7, multiLabel: multiLabel)[0]
            let ms = Date().timeIntervalSince(start) * 1000
            print(String(format: "NMS 8400×80 random, conf %.3f multi-label %@: %d boxes in %.1f ms", conf,
                         multiLabel ? "yes" : "no", out.size(0), ms))
            XCTAssertEqual(out.shape, [300, 6])
            let confidence = try out.select(dim: 1, index: 4).toArray(Float.self)
            XCTAssertEqual(confidence, confidence.sorted(by: >))
        }
    }
}

/// Test data from the project's seeded generator.
extension SplitMixRandom {
    /// Uniform in [0, 1), 24 bits.
    fileprivate mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
