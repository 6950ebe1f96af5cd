import Foundation
import Torch
import XCTest

/// libtorch's optimizers against updates computed by hand, and their state across save and restore.
final class OptimizerTests: XCTestCase {
    /// Loss Σ p², whose gradient is 2p.
    func quadraticStep(_ p: Tensor, _ optimizer: Optimizer) throws {
        try optimizer.zeroGrad()
        try (p * p).sum().backward()
        try optimizer.step()
    }

    func testSGDWithMomentumNesterovAndWeightDecayTwoSteps() throws {
        let start: [Double] = [1, -2, 0.5]
        let p = try Tensor(start).requiresGrad(true)
        let (lr, momentum, decay) = (0.1, 0.9, 0.01)
        let sgd = try SGD([p], lr: lr, momentum: momentum, weightDecay: decay, nesterov: true)
        // By hand: g = 2p + decay·p; buf = g (first step) then momentum·buf + g; p -= lr·(g + momentum·buf).
        var expected = start, buffer = [Double](repeating: 0, count: 3)
        for step in 0..<2 {
            try quadraticStep(p, sgd)
            for i in expected.indices {
                let g = 2 * expected[i] + decay * expected[i]
                buffer[i] = step == 0 ? g : momentum * buffer[i] + g
                expected[i] -= lr * (g + momentum * buffer[i])
            }
            assertClose(try values(p), expected, accuracy: 1e-12, "step \(step + 1)")
        }
    }

    func testAdamWTwoSteps() throws {
        let start: [Double] = [1, -2, 0.5]
        let p = try Tensor(start).requiresGrad(true)
        let (lr, b1, b2, eps, decay) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        let adamw = try AdamW([p], lr: lr, betas: (b1, b2), eps: eps, weightDecay: decay)
        // By hand: p ← p·(1 − lr·decay) − lr·m̂/(√v̂ + eps), with the gradient taken before the decay.
        var expected = start, m = [Double](repeating: 0, count: 3), v = m
        for t in 1...2 {
            try quadraticStep(p, adamw)
            for i in expected.indices {
                let g = 2 * expected[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let mHat = m[i] / (1 - Foundation.pow(b1, Double(t)))
                let vHat = v[i] / (1 - Foundation.pow(b2, Double(t)))
                expected[i] = expected[i] * (1 - lr * decay) - lr * mHat / (vHat.squareRoot() + eps)
            }
            assertClose(try values(p), expected, accuracy: 1e-12, "step \(t)")
        }
    }

    func testParameterGroupsHaveTheirOwnOptionsAndTheyCanChangeBeforeAnyStep() throws {
        let a = try Tensor([1] as [Double]).requiresGrad(true), b = try Tensor([1] as [Double]).requiresGrad(true)
        let sgd = try SGD([a], lr: 0.1, momentum: 0.5)
        try sgd.addGroup([b], options: [.lr: 0.2, .weightDecay: 0])
        XCTAssertEqual(sgd.groups.count, 2)
        XCTAssertEqual(sgd.groups[1].lr, 0.2)
        XCTAssertEqual(try sgd.groups[1].get(.momentum), 0.5)  // a default it did not override
        sgd.groups[0].lr = 0.05  // as the trainer's warmup does each iteration
        try sgd.groups[1].set(.momentum, 0)
        try (a * a + b * b).sum().backward()
        try sgd.step()
        XCTAssertEqual(try a.item(), 1 - 0.05 * 2, accuracy: 1e-12)
        XCTAssertEqual(try b.item(), 1 - 0.2 * 2, accuracy: 1e-12)
        XCTAssertNotNil(expectTorchError { try sgd.set(.lr, 1, group: 5) })
        XCTAssertNotNil(expectTorchError { _ = try sgd.get(.beta1, group: 0) })
    }

    func testStateSaveAndRestoreContinuesIdentically() throws {
        for makeOptimizer in [
            { try SGD($0, lr: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true) as Optimizer },
            { try AdamW($0, lr: 0.01) as Optimizer },
        ] as [([Tensor]) throws -> Optimizer] {
            let p = try Tensor.randn([4, 3], dtype: .float64).requiresGrad(true)
            let original = try makeOptimizer([p])
            for _ in 0..<3 { try quadraticStep(p, original) }
            let saved = try original.stateBytes()

            // A fresh optimizer over a copy of the parameters, restored from the bytes, then both go on.
            let q = try p.detach().clone().requiresGrad(true)
            let fresh = try p.detach().clone().requiresGrad(true)
            let restored = try makeOptimizer([q]), unrestored = try makeOptimizer([fresh])
            restored.groups[0].lr = 123  // the restore must bring the saved lr back
            try restored.loadState(saved)
            XCTAssertEqual(restored.groups[0].lr, original.groups[0].lr)
            for _ in 0..<3 {
                try quadraticStep(p, original)
                try quadraticStep(q, restored)
                try quadraticStep(fresh, unrestored)
            }
            XCTAssertTrue(try p.equal(q), "\(type(of: original)): restored run diverged")
            XCTAssertFalse(try p.equal(fresh), "\(type(of: original)): state made no difference, so the test proves nothing")
        }
    }

    func testRestoreRejectsGarbage() throws {
        let sgd = try SGD([try Tensor([1] as [Float]).requiresGrad(true)], lr: 0.1)
        XCTAssertNotNil(expectTorchError { try sgd.loadState([1, 2, 3, 4]) })
    }
}
