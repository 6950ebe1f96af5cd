import Foundation
import Torch
import XCTest

@testable import YOLO

/// yolov8-pose built from the YAML and loaded from the reference's checkpoint: structure, parameter counts, and the
/// reference's forward outputs (boxes, class, 17 keypoints) on the reference's input.
final class PoseModelTests: XCTestCase {
    static let folder = "yolov8n-pose-coco8"

    func fixture(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name, in: Self.folder)
        return try Tensor(values, shape: shape)
    }

    func testEveryScaleHasTheReferenceParameterCount() throws {
        let expected = ["n": 3_295_470, "s": 11_626_046, "m": 26_464_462, "l": 44_489_196, "x": 69_491_724]
        for (scale, count) in expected.sorted(by: { $0.value < $1.value }) {
            let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8\(scale)-pose.yaml"))
            XCTAssertEqual(model.task, .pose)
            XCTAssertEqual(model.parameters().map(\.numel).reduce(0, +), count, "yolov8\(scale)-pose")
        }
    }

    func testStateDictMatchesTheReferenceAndTheDatasetKeypointShapeWins() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n-pose.yaml"))
        let expected = try Fixtures.expected("state_dict", as: [[Any]].self, in: Self.folder)
        let ours = model.stateDict()
        XCTAssertEqual(ours.map(\.0), expected.map { $0[0] as! String })
        for ((name, tensor), row) in zip(ours, expected) { XCTAssertEqual(tensor.shape, row[1] as! [Int], name) }
        // A dataset's kpt_shape replaces the YAML's, as the reference's data_kpt_shape.
        let hands = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n-pose.yaml", keypointShape: [21, 2]))
        XCTAssertEqual((hands.detect as? Pose)?.keypointShape.count, 21)
        XCTAssertEqual(try hands(Tensor.zeros([1, 3, 64, 64])).size(1), 4 + 1 + 42)
        XCTAssertThrowsError(try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n-pose.yaml", keypointShape: [17, 4])))
    }

    /// The fixture's tolerances (1e-3 px, 1e-4) with oneDNN's direct convolutions; NNPACK's Winograd ones (pip's
    /// torch, 3x3 stride-1 layers) round differently: boxes and keypoints within 4e-3 px there.
    func testImportedCheckpointReproducesTheReferenceForward() throws {
        let model = try YOLO(try Fixtures.shared("reference/\(Self.folder)/best.pt"))
        XCTAssertEqual(model.model.task, .pose)
        let input = try fixture("forward_input")
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        for winograd in [false, true] {
            Runtime.winogradConvolutions = winograd
            let pixels = winograd ? 4e-3 : 1e-3
            let (output, raw) = try withNoGrad { try model.model.predict(input) }
            let keypointsRaw = try (XCTUnwrap(raw.keypoints) - fixture("forward_kpts_raw")).abs().amax().item()
            let expected = try fixture("forward_output")
            XCTAssertEqual(output.shape, [1, 56, 8400])
            let boxes = try (output.slice(dim: 1, end: 4) - expected.slice(dim: 1, end: 4)).abs().amax().item()
            let scores = try (output.slice(dim: 1, start: 4, end: 5) - expected.slice(dim: 1, start: 4, end: 5)).abs().amax().item()
            let keypoints = try output.slice(dim: 1, start: 5).view(1, 17, 3, -1), reference = try expected.slice(dim: 1, start: 5).view(1, 17, 3, -1)
            let xy = try (keypoints.slice(dim: 2, end: 2) - reference.slice(dim: 2, end: 2)).abs().amax().item()
            let visibility = try (keypoints.slice(dim: 2, start: 2) - reference.slice(dim: 2, start: 2)).abs().amax().item()
            print("pose parity (Winograd \(winograd)): raw keypoints \(keypointsRaw), boxes \(boxes) px, scores \(scores), "
                + "keypoints \(xy) px, visibility \(visibility)")
            XCTAssertLessThan(keypointsRaw, 1e-3)
            XCTAssertLessThan(boxes, pixels)
            XCTAssertLessThan(scores, 1e-4)
            XCTAssertLessThan(xy, pixels)
            XCTAssertLessThan(visibility, 1e-4)
        }
    }
}
