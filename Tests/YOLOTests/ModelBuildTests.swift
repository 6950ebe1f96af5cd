import Torch
import XCTest

@testable import YOLO

/// Models built from the reference's YAML: structure, parameter counts, names, strides, GFLOPs, fusion.
final class ModelBuildTests: XCTestCase {
    func testYolov8nMatchesTheReferenceStateDictNamesShapesAndOrder() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml"))
        let expected = try Fixtures.expected("state_dict", as: [[Any]].self)
        let ours = model.stateDict()
        XCTAssertEqual(ours.count, 355)
        XCTAssertEqual(ours.map(\.0), expected.map { $0[0] as! String })
        for ((name, tensor), row) in zip(ours, expected) {
            XCTAssertEqual(tensor.shape, row[1] as! [Int], name)
        }
    }

    func testEveryScaleHasTheReferenceParameterCount() throws {
        let expected = ["n": 3_157_200, "s": 11_166_560, "m": 25_902_640, "l": 43_691_520, "x": 68_229_648]
        for (scale, count) in expected.sorted(by: { $0.value < $1.value }) {
            let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8\(scale).yaml"))
            XCTAssertEqual(model.parameters().map(\.numel).reduce(0, +), count, "yolov8\(scale)")
        }
    }

    func testInfoGivesTheReferenceParametersGradientsAndGFLOPs() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml"))
        let info = try model.info()
        XCTAssertEqual(info.layers, 129)
        XCTAssertEqual(info.parameters, 3_157_200)
        XCTAssertEqual(info.gradients, 3_157_184)  // all but the fixed DFL weights
        XCTAssertEqual(info.gflops, 8.8550912, accuracy: 1e-6)
        XCTAssertTrue(info.description.contains("3,157,200 parameters"), info.description)
        XCTAssertTrue(info.description.hasSuffix("8.9 GFLOPs"), info.description)
        try model.fuse()
        let fused = try model.info()
        XCTAssertEqual(fused.layers, 72)
        XCTAssertEqual(fused.parameters, 3_151_904)
        XCTAssertEqual(fused.gflops, 8.7439872, accuracy: 1e-6)
        XCTAssertTrue(fused.description.contains("(fused)"))
    }

    func testStridesBiasesAndOutputShapes() throws {
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml", nc: 3))
        XCTAssertEqual(model.strides, [8, 16, 32])
        XCTAssertEqual(model.classCount, 3)
        let cls = try XCTUnwrap(model.detect.cv3[0].layers[2] as? Conv2d)
        XCTAssertEqual(try cls.bias!.toArray(Float.self)[0], Float(log(5.0 / 3 / pow(640 / 8.0, 2))), accuracy: 1e-5)
        let box = try XCTUnwrap(model.detect.cv2[2].layers[2] as? Conv2d)
        XCTAssertEqual(try box.bias!.toArray(Float.self), [Float](repeating: 2, count: 64))
        model.eval()
        let x = try Tensor.rand([2, 3, 64, 96])
        let y = try withNoGrad { try model(x) }
        XCTAssertEqual(y.shape, [2, 7, 8 * 12 + 4 * 6 + 2 * 3])
        let raw = try withNoGrad { try model.forwardRaw(x) }
        XCTAssertEqual(raw.boxes.shape, [2, 64, 126])
        XCTAssertEqual(raw.scores.shape, [2, 3, 126])
    }

    func testFusedModelAgreesWithTheUnfused() throws {
        Runtime.seed(3)
        let model = try DetectionModel(spec: ModelSpec(contentsOf: "yolov8n.yaml"))
        model.train()
        _ = try withNoGrad { try model.forwardRaw(Tensor.rand([2, 3, 64, 64])) }  // non-trivial running statistics
        model.eval()
        let x = try Tensor.rand([1, 3, 96, 96])
        let before = try withNoGrad { try model(x) }
        try model.fuse()
        XCTAssertTrue(model.isFused)
        let after = try withNoGrad { try model(x) }
        XCTAssertLessThan(try (before - after).abs().amax().item(), 1e-3)
        let probabilities = try (before.slice(dim: 1, start: 4) - after.slice(dim: 1, start: 4)).abs().amax().item()
        XCTAssertLessThan(probabilities, 1e-4)
    }

    /// DFL sums its softmax over the bins where they lie; the reference transposes them to channels and convolves
    /// with the weights 0..<16. Same distances.
    func testDFLGivesTheReferenceConvolutionsExpectation() throws {
        let dfl = try DFL(bins: 16), logits = try Tensor.randn([2, 64, 50]) * 3
        let theirs = try logits.view(2, 4, 16, 50).transpose(2, 1).softmax(dim: 1).conv2d(dfl.conv.weight).view(2, 4, 50)
        let ours = try dfl(logits)
        XCTAssertEqual(ours.shape, [2, 4, 50])
        XCTAssertLessThan(try (ours - theirs).abs().amax().item(), 1e-5)
        XCTAssertGreaterThan(try theirs.amax().item() - theirs.amin().item(), 1)  // distances that differ
    }

    func testBadModelDescriptionsThrowNamingTheProblem() throws {
        XCTAssertThrowsError(try ModelSpec(contentsOf: "/nonexistent/yolov9z.yaml")) {
            XCTAssertTrue("\($0)".contains("not found"), "\($0)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-spec-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = [
            ("badrow.yaml", "nc: 2\nbackbone:\n  - [-1, 1, Conv]\nhead: []\n", "must be [from, repeats, module, args]"),
            ("unknown.yaml", "nc: 2\nbackbone:\n  - [-1, 1, Transformer, [64]]\nhead: []\n", "unsupported module"),
            ("nonc.yaml", "backbone: []\nhead: []\n", "'nc'"),
            ("broken.yaml", "nc: [\n", "not valid YAML"),
        ]
        for (name, text, expected) in cases {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try DetectionModel(spec: ModelSpec(contentsOf: path))) {
                XCTAssertTrue("\($0)".contains(expected) && "\($0)".contains(name), "\(name): \($0)")
            }
        }
    }
}
