import Foundation
import Torch
import XCTest

@testable import YOLO

/// yolov8-seg built from the YAML and loaded from the reference's checkpoint: structure, parameter counts, and the
/// reference's forward outputs (boxes, classes, mask coefficients, prototypes) on the reference's input.
final class SegmentModelTests: XCTestCase {
    static let folder = "yolov8n-seg-coco8"

    func fixture(_ name: String) throws -> Tensor {
        let (values, shape) = try Fixtures.floats(name, in: Self.folder)
        return try Tensor(values, shape: shape)
    }

    func testEveryScaleHasTheReferenceParameterCount() throws {
        let expected = ["n": 3_409_968, "s": 11_821_056, "m": 27_285_968, "l": 45_997_728, "x": 71_827_888]
        for (scale, count) in expected.sorted(by: { $0.value < $1.value }) {
            let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8\(scale)-seg.yaml"))
            XCTAssertEqual(model.task, .segment)
            XCTAssertEqual(model.parameters().map(\.numel).reduce(0, +), count, "yolov8\(scale)-seg")
        }
    }

    func testStateDictMatchesTheReferenceNamesShapesAndOrder() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n-seg.yaml"))
        let expected = try Fixtures.expected("state_dict", as: [[Any]].self, in: Self.folder)
        let ours = model.stateDict()
        XCTAssertEqual(ours.map(\.0), expected.map { $0[0] as! String })
        for ((name, tensor), row) in zip(ours, expected) { XCTAssertEqual(tensor.shape, row[1] as! [Int], name) }
    }

    /// The fixture's tolerances (1e-3 px, 1e-4) with oneDNN's direct convolutions; NNPACK's Winograd ones (pip's
    /// torch, 3x3 stride-1 layers) round differently: boxes within 4e-3 px there (1.04e-3 on an AVX-512 EPYC).
    func testImportedCheckpointReproducesTheReferenceForward() throws {
        let model = try YOLO(try Fixtures.shared("reference/\(Self.folder)/best.pt"))
        XCTAssertEqual(model.model.task, .segment)
        let input = try fixture("forward_input")
        let enabled = Runtime.winogradConvolutions
        defer { Runtime.winogradConvolutions = enabled }
        var output = input, raw: HeadOutput?
        for winograd in [false, true] {
            Runtime.winogradConvolutions = winograd
            let pixels = winograd ? 4e-3 : 1e-3
            (output, raw) = try withNoGrad { try model.model.predict(input) }
            let boxesRaw = try (raw!.boxes - fixture("forward_boxes_raw")).abs().amax().item()
            let scoresRaw = try (raw!.scores - fixture("forward_scores_raw")).abs().amax().item()
            let expected = try fixture("forward_output")
            XCTAssertEqual(output.shape, [1, 116, 8400])
            let boxes = try (output.slice(dim: 1, end: 4) - expected.slice(dim: 1, end: 4)).abs().amax().item()
            let rest = try (output.slice(dim: 1, start: 4) - expected.slice(dim: 1, start: 4)).abs().amax().item()
            let proto = try (XCTUnwrap(raw!.prototypes) - fixture("forward_proto")).abs().amax().item()
            print("segment parity (Winograd \(winograd)): raw boxes \(boxesRaw), raw scores \(scoresRaw), boxes \(boxes) px, "
                + "probabilities and coefficients \(rest), prototypes \(proto)")
            XCTAssertLessThan(boxesRaw, 1e-3)
            XCTAssertLessThan(scoresRaw, 1e-3)
            XCTAssertLessThan(boxes, pixels, "boxes (pixels)")
            XCTAssertLessThan(rest, 1e-4, "probabilities and mask coefficients")
            XCTAssertLessThan(proto, 1e-4, "prototypes")
        }

        try model.fuse()
        let (fused, fusedRaw) = try withNoGrad { try model.model.predict(input) }
        // Folding the batch norms changes float32 rounding; with NNPACK's Winograd convolutions (pip's torch) the boxes
        // moved by up to 1.04e-3 px (of 640) on an AVX2 EPYC, 2.01e-3 on an AVX-512 one.
        XCTAssertLessThan(try (fused.slice(dim: 1, end: 4) - output.slice(dim: 1, end: 4)).abs().amax().item(), 4e-3)
        XCTAssertLessThan(try (fused.slice(dim: 1, start: 4) - output.slice(dim: 1, start: 4)).abs().amax().item(), 1e-3)
        XCTAssertLessThan(try (fusedRaw.prototypes! - raw!.prototypes!).abs().amax().item(), 1e-3)
    }
}

