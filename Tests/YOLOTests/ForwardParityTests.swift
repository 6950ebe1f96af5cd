import Foundation
import Torch
import XCTest

@testable import YOLO

/// The reference's checkpoint, imported here, gives the reference's outputs on the reference's input.
final class ForwardParityTests: XCTestCase {
    func fixtureTensor(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name)
        return try Tensor(values, shape: shape)
    }

    func testImportedCheckpointReproducesTheReferenceForward() throws {
        let model = try YOLO(try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt"))
        XCTAssertEqual(model.names[0], "person")
        XCTAssertEqual(model.names.count, 80)
        let input = try fixtureTensor("forward_input")
        model.model.eval()

        let raw = try withNoGrad { try model.model.forwardRaw(input) }
        let rawBoxes = try (raw.boxes - fixtureTensor("forward_boxes_raw")).abs().amax().item()
        let rawScores = try (raw.scores - fixtureTensor("forward_scores_raw")).abs().amax().item()
        XCTAssertLessThan(rawBoxes, 1e-3, "raw box logits")
        XCTAssertLessThan(rawScores, 1e-3, "raw class logits")

        let output = try model(input)
        let expected = try fixtureTensor("forward_output")
        XCTAssertEqual(output.shape, [1, 84, 8400])
        let boxError = try (output.slice(dim: 1, end: 4) - expected.slice(dim: 1, end: 4)).abs().amax().item()
        let probabilityError = try (output.slice(dim: 1, start: 4) - expected.slice(dim: 1, start: 4)).abs().amax().item()
        XCTAssertLessThan(boxError, 1e-3, "boxes (pixels)")
        XCTAssertLessThan(probabilityError, 1e-4, "probabilities")
        print("parity: raw boxes \(rawBoxes), raw scores \(rawScores), boxes \(boxError) px, probabilities \(probabilityError)")

        try model.fuse()
        let fused = try model(input)
        XCTAssertLessThan(try (fused.slice(dim: 1, end: 4) - output.slice(dim: 1, end: 4)).abs().amax().item(), 1e-3)
        XCTAssertLessThan(try (fused.slice(dim: 1, start: 4) - output.slice(dim: 1, start: 4)).abs().amax().item(), 1e-4)
    }

    func testOurCheckpointRoundTripsAndKeepsOutputs() throws {
        let original = try YOLO("yolov8n.yaml", nc: 3)
        original.model.eval()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID()).pt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try original.save(to: path)
        let loaded = try YOLO(path)
        XCTAssertEqual(loaded.model.classCount, 3)
        XCTAssertEqual(loaded.model.spec.scale, "n")
        XCTAssertEqual(loaded.model.stateDict().map(\.0), original.model.stateDict().map(\.0))
        for ((name, a), (_, b)) in zip(original.model.stateDict(), loaded.model.stateDict()) {
            XCTAssertTrue(try a.equal(b), name)
        }
        let x = try Tensor.rand([1, 3, 64, 64])
        XCTAssertTrue(try original(x).equal(loaded(x)))
    }

    func testClassCountOverrideKeepsEveryTensorThatStillFits() throws {
        let path = try Fixtures.shared("reference/yolov8n-coco8/yolov8n-trained.pt")
        let reference = try YOLO(path), adapted = try YOLO(path, nc: 2)
        XCTAssertEqual(adapted.model.classCount, 2)
        let original = Dictionary(uniqueKeysWithValues: reference.model.stateDict().map { ($0.0, $0.1) })
        let kept = adapted.model.stateDict().filter { original[$0.0]!.shape == $0.1.shape }
        XCTAssertTrue(try kept.allSatisfy { try original[$0.0]!.equal($0.1) })
        // Only the class branch changes shape (its width is max(64, min(nc, 100))); everything else is kept.
        let keptNames = Set(kept.map(\.0))
        let outsideClassBranch = adapted.model.stateDict().map(\.0).filter { !$0.hasPrefix("model.22.cv3.") }
        XCTAssertEqual(outsideClassBranch.filter { !keptNames.contains($0) }, [])
    }
}
