import Foundation
import Torch
import XCTest

/// GradScaler against PyTorch's rules (skip and back off on inf/NaN, grow after the interval, unscale before the
/// step) and autocast's casts. GradScaler's kernels run on the CPU from torch 2.x only: on 1.13 those tests skip.
final class MixedPrecisionTests: XCTestCase {
    private func requireCPUScalerKernels() throws {
        guard let major = Int(Runtime.torchVersion.prefix { $0 != "." }), major >= 2 else {
            throw XCTSkip("libtorch \(Runtime.torchVersion) has GradScaler's kernels on CUDA only")
        }
    }

    /// Loss Σ p² scaled, backward, unscale, step: the gradient reaching SGD is 2p, not 2p·scale.
    private func scaledStep(_ p: Tensor, _ sgd: SGD, _ scaler: GradScaler, inject: Double? = nil) throws -> Bool {
        try sgd.zeroGrad()
        var loss = try (p * p).sum()
        if let inject { loss = try loss * inject }
        try scaler.scale(loss).backward()
        try scaler.unscale([p])
        let stepped = try scaler.step(sgd, parameters: [p])
        try scaler.update()
        return stepped
    }

    func testACleanStepUnscalesTheGradientAndStepsAsWithoutScaling() throws {
        try requireCPUScalerKernels()
        let p = try Tensor([1.0, -2.0, 0.5] as [Float]).requiresGrad(true)
        let scaler = try GradScaler(initScale: 1024, growthInterval: 2000)
        let sgd = try SGD([p], lr: 0.1)
        XCTAssertTrue(try scaledStep(p, sgd, scaler))
        assertClose(try values(p.grad!), [2, -4, 1], accuracy: 1e-6, "unscaled gradient")
        assertClose(try values(p), [0.8, -1.6, 0.4], accuracy: 1e-6, "after the step")
        XCTAssertEqual(scaler.currentScale, 1024)
    }

    func testAnInfSkipsTheStepAndHalvesTheScale() throws {
        try requireCPUScalerKernels()
        let p = try Tensor([1.0, -2.0, 0.5] as [Float]).requiresGrad(true)
        let scaler = try GradScaler(initScale: 65536)
        let sgd = try SGD([p], lr: 0.1)
        XCTAssertFalse(try scaledStep(p, sgd, scaler, inject: .infinity))
        assertClose(try values(p), [1, -2, 0.5], accuracy: 0, "weights after a skipped step")
        XCTAssertEqual(scaler.currentScale, 32768)
        XCTAssertFalse(try scaledStep(p, sgd, scaler, inject: .nan))
        XCTAssertEqual(scaler.currentScale, 16384)
        XCTAssertTrue(try scaledStep(p, sgd, scaler))  // a clean step goes through again
        assertClose(try values(p), [0.8, -1.6, 0.4], accuracy: 1e-6, "after the clean step")
    }

    func testTheScaleGrowsAfterTheIntervalOfCleanStepsAndTheStateRoundTrips() throws {
        try requireCPUScalerKernels()
        let p = try Tensor([0.5, 0.25] as [Float]).requiresGrad(true)
        let scaler = try GradScaler(initScale: 8, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3)
        let sgd = try SGD([p], lr: 0.01)
        for _ in 0..<2 { XCTAssertTrue(try scaledStep(p, sgd, scaler)) }
        XCTAssertEqual(scaler.currentScale, 8)  // two clean steps: not yet
        let state = Dictionary(uniqueKeysWithValues: scaler.state)
        XCTAssertEqual(state["_growth_tracker"], 2)
        XCTAssertTrue(try scaledStep(p, sgd, scaler))
        XCTAssertEqual(scaler.currentScale, 16)  // the third: doubled, count restarts

        // A scaler restored from the state after two steps grows at its next clean step, as the original did.
        let restored = try GradScaler(initScale: 1, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3)
        try restored.load(state)
        XCTAssertEqual(restored.currentScale, 8)
        XCTAssertTrue(try scaledStep(p, sgd, restored))
        XCTAssertEqual(restored.currentScale, 16)
    }

    func testADisabledScalerPassesEverythingThrough() throws {
        let p = try Tensor([1.0, -2.0] as [Float]).requiresGrad(true)
        let scaler = try GradScaler(enabled: false)
        let sgd = try SGD([p], lr: 0.1)
        XCTAssertTrue(try scaledStep(p, sgd, scaler, inject: 3))
        assertClose(try values(p.grad!), [6, -12], accuracy: 1e-6, "gradient, unscaled by nothing")
        XCTAssertTrue(scaler.state.isEmpty)
    }

    /// CPU autocast to bfloat16: convolutions in bfloat16 inside, float32 outside; the fused training Conv block
    /// (float32 only) stands aside under it.
    func testCPUAutocastRunsConvolutionsInBFloat16() throws {
        let x = try Tensor.randn([2, 16, 8, 8]), w = try Tensor.randn([16, 16, 3, 3])
        XCTAssertFalse(try Autocast.isEnabled(on: .cpu))
        let (inside, fused) = try Autocast.run(on: .cpu, dtype: .bfloat16) {
            XCTAssertTrue(try Autocast.isEnabled(on: .cpu))
            return (try x.conv2d(w, padding: (1, 1)), try x.convBatchNormSiLUIsFused(w, stride: (1, 1), padding: (1, 1)))
        }
        XCTAssertEqual(inside.dtype, .bfloat16)
        XCTAssertFalse(fused)
        XCTAssertFalse(try Autocast.isEnabled(on: .cpu))
        let outside = try x.conv2d(w, padding: (1, 1))
        XCTAssertEqual(outside.dtype, .float32)
        // bfloat16 keeps 8 bits of mantissa: the two agree to a few per cent of the largest output (3.5% measured on
        // libtorch 1.13 on an AVX2 CPU, whose bfloat16 convolution also accumulates in bfloat16), not more.
        let difference = try (inside.to(.float32) - outside).abs().amax().item()
        let scale = try outside.abs().amax().item()
        XCTAssertLessThan(difference, scale * 0.1)
    }
}
