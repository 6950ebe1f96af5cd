import Torch
import XCTest

/// Autograd against central finite differences, in float64.
final class GradientTests: XCTestCase {
    override func setUp() { Runtime.seed(7) }

    func testConv2dGradientsForInputWeightAndBias() throws {
        let inputs = [try Tensor.randn([2, 3, 5, 5]), try Tensor.randn([4, 3, 3, 3]), try Tensor.randn([4])]
        try assertGradientsMatchFiniteDifferences(inputs) {
            try $0[0].conv2d($0[1], bias: $0[2], stride: (2, 2), padding: (1, 1))
        }
    }

    func testGroupedConv2dGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([1, 4, 4, 4]), try Tensor.randn([4, 2, 3, 3])]) {
            try $0[0].conv2d($0[1], padding: (1, 1), groups: 2)
        }
    }

    func testBatchNormGradientInTrainingMode() throws {
        let inputs = [try Tensor.randn([3, 2, 3, 3]), try Tensor.randn([2]), try Tensor.randn([2])]
        try assertGradientsMatchFiniteDifferences(inputs) {
            try $0[0].batchNorm(
                weight: $0[1], bias: $0[2], runningMean: nil, runningVar: nil, training: true, eps: 1e-3)
        }
    }

    func testSiLUGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([3, 4])]) { try $0[0].silu() }
    }

    func testUpsampleGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([1, 2, 3, 3])]) { try $0[0].upsampleNearest(scale: 2) }
    }

    func testMaxPoolGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([1, 2, 6, 6])]) {
            try $0[0].maxPool2d(kernel: (5, 5), stride: (1, 1), padding: (2, 2))
        }
    }

    func testCatGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([2, 3]), try Tensor.randn([2, 2])]) {
            try Tensor.cat([$0[0], $0[1]], dim: 1).square()
        }
    }

    func testSoftmaxGradient() throws {
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([3, 5])]) { try $0[0].softmax(dim: 1) }
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([3, 5])]) { try $0[0].logSoftmax(dim: 0) }
    }

    func testBinaryCrossEntropyWithLogitsGradient() throws {
        let target = try Tensor.rand([4, 3], dtype: .float64)
        try assertGradientsMatchFiniteDifferences([try Tensor.randn([4, 3])]) {
            try $0[0].binaryCrossEntropyWithLogits(target, reduction: .sum)
        }
    }

    func testGradientAccumulatesAndClears() throws {
        let w = try Tensor([1, 2] as [Float]).requiresGrad(true)
        XCTAssertNil(w.grad)
        try (w * w).sum().backward()
        try (w * 3).sum().backward()
        XCTAssertEqual(try values(w.grad!), [5, 7])  // 2w + 3
        try w.zeroGrad(setToNone: false)
        XCTAssertEqual(try values(w.grad!), [0, 0])
        try w.zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testNoGradScopeAndDetach() throws {
        let w = try Tensor([1] as [Float]).requiresGrad(true)
        let inside = try withNoGrad { try w * 2 }
        XCTAssertFalse(inside.requiresGrad)
        XCTAssertTrue(isGradEnabled)
        XCTAssertTrue(try (w * 2).requiresGrad)
        XCTAssertFalse(try (w * 2).detach().requiresGrad)
    }

    func testClipGradNorm() throws {
        let a = try Tensor([3] as [Float]).requiresGrad(true), b = try Tensor([4] as [Float]).requiresGrad(true)
        try (a * a / 2 + b * b / 2).sum().backward()  // gradients 3 and 4: norm 5
        let norm = try clipGradNorm([a, b], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-5)
        XCTAssertEqual(try a.grad!.item(), 0.6, accuracy: 1e-4)
        XCTAssertEqual(try b.grad!.item(), 0.8, accuracy: 1e-4)
    }
}
