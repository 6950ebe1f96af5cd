import Foundation
import Torch
import XCTest

/// Elementwise math, reductions and selection against hand-computed values.
final class MathTests: XCTestCase {
    let x = try! Tensor([-2, -0.5, 0, 1, 3] as [Float])

    func testUnaryFunctions() throws {
        let v: [Double] = [-2, -0.5, 0, 1, 3]
        func check(_ t: Tensor, _ f: (Double) -> Double, _ name: String) throws {
            assertClose(try values(t), v.map(f), accuracy: 1e-6, name)
        }
        try check(x.neg(), { -$0 }, "neg")
        try check(x.abs(), { Swift.abs($0) }, "abs")
        try check(x.exp(), { Foundation.exp($0) }, "exp")
        try check(x.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }, "sigmoid")
        try check(x.silu(), { $0 / (1 + Foundation.exp(-$0)) }, "silu")
        let inPlace = try x.clone()
        try inPlace.silu_()
        try check(inPlace, { $0 / (1 + Foundation.exp(-$0)) }, "silu_")
        try check(x.relu(), { Swift.max($0, 0) }, "relu")
        try check(x.tanh(), { Foundation.tanh($0) }, "tanh")
        try check(x.atan(), { Foundation.atan($0) }, "atan")
        try check(x.square(), { $0 * $0 }, "square")
        try check(x.floor(), { Foundation.floor($0) }, "floor")
        try check(x.ceil(), { Foundation.ceil($0) }, "ceil")
        try check(x.sign(), { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 }, "sign")
        let positive = try x.abs() + 1
        assertClose(try values(positive.log()), v.map { Foundation.log(Swift.abs($0) + 1) }, accuracy: 1e-6, "log")
        assertClose(try values(positive.sqrt()), v.map { (Swift.abs($0) + 1).squareRoot() }, accuracy: 1e-6, "sqrt")
        assertClose(try values(positive.pow(2)), v.map { Foundation.pow(Swift.abs($0) + 1, 2) }, accuracy: 1e-5, "pow")
        XCTAssertEqual(try values(Tensor([0.4, 0.5, 1.5, 2.6] as [Float]).round()), [0, 0, 2, 3])  // half to even
    }

    func testArithmeticOperatorsAndBroadcasting() throws {
        let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        let row = try Tensor([10, 20] as [Float])
        XCTAssertEqual(try values(a + row), [11, 22, 13, 24])
        XCTAssertEqual(try values(a - row), [-9, -18, -7, -16])
        XCTAssertEqual(try values(a * a), [1, 4, 9, 16])
        XCTAssertEqual(try values(a / row), [0.1, 0.1, 0.3, 0.2].map { Double(Float($0)) })
        XCTAssertEqual(try values(a * 2 + 1), [3, 5, 7, 9])
        XCTAssertEqual(try values(10 - a), [9, 8, 7, 6])
        XCTAssertEqual(try values(12 / a), [12, 6, 4, 3])
        XCTAssertEqual(try values(-a), [-1, -2, -3, -4])
        XCTAssertEqual(try values(a.matmul(a)), [7, 10, 15, 22])
        XCTAssertEqual(try values(a.maximum(Tensor([2, 2, 2, 2] as [Float], shape: [2, 2]))), [2, 2, 3, 4])
        XCTAssertEqual(try values(a.clamp(min: 2, max: 3)), [2, 2, 3, 3])
        XCTAssertEqual(try values(a.clamp(min: 3)), [3, 3, 3, 4])
        // Integer tensors stay integral with whole-number scalars, as with Python int literals.
        let i = try Tensor([3, 7] as [Int64])
        XCTAssertEqual(try (i * 2).dtype, .int64)
        XCTAssertEqual(try values(i.floorDivide(2)), [1, 3])
        XCTAssertEqual(try values(i.remainder(4)), [3, 3])
        XCTAssertEqual(try (i * 0.5).dtype, .float32)
        XCTAssertEqual(try i.clamp(min: 4).dtype, .int64)
        XCTAssertEqual(try values(i.clamp(min: 4)), [4, 7])
    }

    func testComparisonsAndLogic() throws {
        XCTAssertEqual(try x.gt(0).toArray(Bool.self), [false, false, false, true, true])
        XCTAssertEqual(try x.le(0).toArray(Bool.self), [true, true, true, false, false])
        XCTAssertEqual(try x.eq(x).toArray(Bool.self), [true, true, true, true, true])
        let a = try x.gt(-1), b = try x.lt(2)
        XCTAssertEqual(try a.logicalAnd(b).toArray(Bool.self), [false, true, true, true, false])
        XCTAssertEqual(try a.logicalOr(b).toArray(Bool.self), [true, true, true, true, true])
        XCTAssertEqual(try a.logicalNot().toArray(Bool.self), [true, false, false, false, false])
        XCTAssertEqual(try (x / 0).isfinite().toArray(Bool.self), [false, false, false, false, false])
    }

    func testReductions() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        XCTAssertEqual(try t.sum().item(), 21)
        XCTAssertEqual(try values(t.sum(dim: 0)), [5, 7, 9])
        XCTAssertEqual(try t.sum(dim: 1, keepdim: true).shape, [2, 1])
        XCTAssertEqual(try values(t.mean(dim: 1)), [2, 5])
        XCTAssertEqual(try values(t.prod(dims: [1])), [6, 120])
        XCTAssertEqual(try t.prod().item(), 720)
        XCTAssertEqual(try values(t.amax(dims: [0])), [4, 5, 6])
        XCTAssertEqual(try values(t.amin(dims: [1])), [1, 4])
        XCTAssertEqual(try t.std().item(), 1.8708287, accuracy: 1e-6)
        XCTAssertEqual(try t.variance().item(), 3.5, accuracy: 1e-6)
        XCTAssertEqual(try t.norm().item(), 91.0.squareRoot(), accuracy: 1e-5)
        assertClose(try values(t.logsumexp(dims: [1])), [3.4076059, 6.4076059], accuracy: 1e-5)
        XCTAssertEqual(try t.gt(5).any().item(), 1)
        XCTAssertEqual(try t.gt(0).all().item(), 1)
        XCTAssertEqual(try t.gt(5).any(dims: [1]).toArray(Bool.self), [false, true])
        XCTAssertEqual(try t.argmax().item(), 5)
        XCTAssertEqual(try values(t.argmax(dim: 0)), [1, 1, 1])
        XCTAssertEqual(try values(t.argmin(dim: 1)), [0, 0])
        let (maxValues, maxIndices) = try t.max(dim: 1)
        XCTAssertEqual(try values(maxValues), [3, 6])
        XCTAssertEqual(try values(maxIndices), [2, 2])
        let (minValues, _) = try t.min(dim: 0, keepdim: true)
        XCTAssertEqual(minValues.shape, [1, 3])
        XCTAssertEqual(try values(t.cumsum(dim: 1)), [1, 3, 6, 4, 9, 15])
    }

    func testSortTopkSoftmax() throws {
        let t = try Tensor([3, 1, 4, 1, 5, 9, 2, 6] as [Float])
        let (sorted, order) = try t.sort(descending: true, stable: true)
        XCTAssertEqual(try values(sorted), [9, 6, 5, 4, 3, 2, 1, 1])
        XCTAssertEqual(try values(order), [5, 7, 4, 2, 0, 6, 1, 3])
        let (top, where_) = try t.topk(3)
        XCTAssertEqual(try values(top), [9, 6, 5])
        XCTAssertEqual(try values(where_), [5, 7, 4])
        XCTAssertEqual(try values(t.topk(2, largest: false).values), [1, 1])
        let logits = try Tensor([1, 2, 3] as [Float])
        let e = [1.0, 2, 3].map { Foundation.exp($0) }
        let s = e.reduce(0, +)
        assertClose(try values(logits.softmax(dim: 0)), e.map { $0 / s }, accuracy: 1e-6)
        assertClose(try values(logits.logSoftmax(dim: 0)), e.map { Foundation.log($0 / s) }, accuracy: 1e-6)
    }

    func testNeuralNetworkFunctionsOnKnownInputs() throws {
        // 3x3 input, 2x2 kernel of ones: each output sums a 2x2 window.
        let x = try Tensor.arange(1, 10, dtype: .float32).reshape(1, 1, 3, 3)
        let w = try Tensor.ones([1, 1, 2, 2])
        XCTAssertEqual(try values(x.conv2d(w, bias: Tensor([1] as [Float]))), [13, 17, 25, 29])
        XCTAssertEqual(try values(x.conv2d(w, stride: (2, 2), padding: (1, 1))), [1, 5, 11, 28])
        XCTAssertEqual(try values(x.maxPool2d(kernel: (2, 2), stride: (1, 1))), [5, 6, 8, 9])
        XCTAssertEqual(try values(x.maxPool2d(kernel: (3, 3), stride: (1, 1), padding: (1, 1))), [5, 6, 6, 8, 9, 9, 8, 9, 9])
        let up = try Tensor([1, 2, 3, 4] as [Float], shape: [1, 1, 2, 2]).upsampleNearest(scale: 2)
        XCTAssertEqual(try values(up), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        // Batch norm in eval mode: (x - mean) / sqrt(var + eps) * w + b.
        let bn = try Tensor([1, 2, 3, 4] as [Float], shape: [1, 2, 1, 2]).batchNorm(
            weight: Tensor([2, 1] as [Float]), bias: Tensor([0, 1] as [Float]), runningMean: Tensor([1, 3] as [Float]),
            runningVar: Tensor([4, 1] as [Float]), training: false, eps: 0)
        XCTAssertEqual(try values(bn), [0, 1, 1, 2])
        // BCE with logits: -[y log σ(x) + (1 - y) log(1 - σ(x))].
        let logits = try Tensor([0, 2, -1] as [Float]), target = try Tensor([1, 0, 0.5] as [Float])
        let expected = zip([0.0, 2, -1], [1.0, 0, 0.5]).map { (x, y) -> Double in
            let p = 1 / (1 + Foundation.exp(-x))
            return -(y * Foundation.log(p) + (1 - y) * Foundation.log(1 - p))
        }
        assertClose(try values(logits.binaryCrossEntropyWithLogits(target, reduction: .none)), expected, accuracy: 1e-6)
        XCTAssertEqual(try logits.binaryCrossEntropyWithLogits(target).item(), expected.reduce(0, +) / 3, accuracy: 1e-6)
        XCTAssertEqual(try logits.binaryCrossEntropyWithLogits(target, reduction: .sum).item(), expected.reduce(0, +), accuracy: 1e-5)
    }
}
