import Foundation
import Torch
import XCTest

/// Inference's convolution + SiLU (`conv2dSiLU`): the fused oneDNN call where the engine has it (libtorch 2.x) gives
/// what conv2d then silu give, in NCHW and channels-last, with and without bias, strides 1 and 2, grouped; under
/// autograd (and on 1.13) the two functions run, with gradients.
final class ConvSiLUTests: XCTestCase {
    override func setUp() { Runtime.seed(5) }

    func testFusedPathMatchesConvThenSiLU() throws {
        var fused = 0
        for (shape, out, k, stride, groups, bias, channelsLast) in [
            ([1, 16, 20, 24], 32, 3, 1, 1, true, false), ([2, 16, 13, 9], 24, 3, 2, 1, true, true),
            ([1, 32, 10, 10], 32, 1, 1, 1, false, true), ([1, 16, 12, 12], 16, 3, 1, 4, true, false),
        ] {
            var x = try Tensor.randn(shape)
            if channelsLast { x = try x.contiguousChannelsLast() }
            let w = try Tensor.randn([out, shape[1] / groups, k, k]) * 0.2
            let b = bias ? try Tensor.randn([out]) : nil
            let (p, s) = ((k / 2, k / 2), (stride, stride))
            let (y, expected, isFused) = try withNoGrad {
                (try x.conv2dSiLU(w, bias: b, stride: s, padding: p, groups: groups),
                 try x.conv2d(w, bias: b, stride: s, padding: p, groups: groups).silu(), try x.conv2dSiLUIsFused(w))
            }
            fused += isFused ? 1 : 0
            XCTAssertEqual(y.shape, expected.shape)
            XCTAssertLessThan(try (y - expected).abs().amax().item(), 1e-4, "\(shape) k\(k) s\(stride) g\(groups)")
        }
        // libtorch 2.x registers oneDNN's fused convolution: every case takes it there (the fallback elsewhere).
        let major = Int(Runtime.torchVersion.split(separator: ".").first ?? "") ?? 0
        XCTAssertEqual(fused, major >= 2 ? 4 : 0, "fused cases on libtorch \(Runtime.torchVersion)")
    }

    func testUnderAutogradItIsConvThenSiLUWithGradients() throws {
        let x = try Tensor.randn([1, 8, 6, 6]).requiresGrad(true)
        let w = try (Tensor.randn([8, 8, 3, 3]) * 0.2).requiresGrad(true)
        XCTAssertFalse(try x.conv2dSiLUIsFused(w))
        let y = try x.conv2dSiLU(w, padding: (1, 1))
        try y.sum().backward()
        let gradient = try XCTUnwrap(w.grad)
        let x2 = try x.detach().requiresGrad(true), w2 = try w.detach().requiresGrad(true)
        try x2.conv2d(w2, padding: (1, 1)).silu().sum().backward()
        XCTAssertLessThan(try (gradient - XCTUnwrap(w2.grad)).abs().amax().item(), 1e-5)
    }
}
