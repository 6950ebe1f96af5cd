import Foundation
import Torch
import XCTest

@testable import YOLO

/// Inference's channels-last path (the default on the CPU) against NCHW, its fallback: the same decoded outputs and
/// task outputs for each task's head, fused and not.
final class InferenceLayoutTests: XCTestCase {
    func testChannelsLastInferenceEqualsNCHW() throws {
        Runtime.seed(3)
        let x = try Tensor.rand([1, 3, 96, 128])
        for yaml in ["yolov8n.yaml", "yolov8n-seg.yaml", "yolov8n-pose.yaml"] {
            let model = try YOLO(yaml).model
            model.eval()
            for fused in [false, true] {
                if fused { try model.fuse() }
                func run(_ channelsLast: Bool) throws -> (Tensor, HeadOutput) {
                    model.channelsLastInference = channelsLast
                    return try withNoGrad { try model.predict(x) }
                }
                let (a, rawA) = try run(true)
                let (b, rawB) = try run(false)
                let what = "\(yaml), fused \(fused)"
                XCTAssertEqual(a.shape, b.shape, what)
                // Boxes in pixels, then probabilities and the task's channels.
                XCTAssertLessThan(try (a.slice(dim: 1, end: 4) - b.slice(dim: 1, end: 4)).abs().amax().item(), 1e-3, what)
                XCTAssertLessThan(try (a.slice(dim: 1, start: 4) - b.slice(dim: 1, start: 4)).abs().amax().item(), 1e-3, what)
                if let p = rawA.prototypes {
                    XCTAssertLessThan(try (p - XCTUnwrap(rawB.prototypes)).abs().amax().item(), 1e-4, what)
                }
                XCTAssertEqual(rawA.keypoints != nil, yaml.contains("pose"), what)
            }
        }
    }
}
